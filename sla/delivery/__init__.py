"""The monthly report e-mails: recipients from the delivery file, the SMTP adapter and the sender
loop of the aggregator (docs/indicators.md, Delivery)."""
