"""sluice: raw files in, a contract decides for every record, an analytics warehouse out."""

__version__ = "0.1.0"
