-- Membership ids that more than one successful application holds. The id's scheme
-- (last name and a digest of the birthday) gives two people the same id by
-- construction; both applications are kept, and this view names them.
CREATE OR REPLACE VIEW applications.shared_membership_ids AS
SELECT membership_id,
       count(*) AS applications,
       min(first_name || ' ' || last_name) AS first_applicant,
       max(first_name || ' ' || last_name) AS last_applicant
FROM applications.successful
GROUP BY membership_id
HAVING count(*) > 1;
