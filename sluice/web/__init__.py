"""`sluice serve`: the JSON API and the dashboard over the registry's pipelines."""
