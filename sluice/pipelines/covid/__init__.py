"""COVID-19: confirmed cases in Singapore over time, from an API that answers like the
public COVID-19 API (issue 11, being built). Not yet a registered pipeline: its ingest
(upsert by day, revisions recorded), models, report and demo come next. Built so far:
`fetch.py`, a response from a URL (timeouts, retries with backoff on 5xx and connection
errors, clear errors otherwise) or a file, checked to be the expected JSON."""
