"""The responder console: server-rendered pages under /console/, made live by htmx and one small ES module
(docs/decisions/0083). Every action goes through the same command service as the HTTP API, as the signed-in
person (docs/decisions/0084)."""
