"""Sans-IO vault connectors: each builds HttpRequest values and parses HttpResponse values."""
