"""What the HTTP routes do, without HTTP: small async functions over the pool, the saver and the graphs."""
