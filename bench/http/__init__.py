"""HTTP benchmark: our gunicorn service against bare Flask, KServe and MLServer, driven by wrk."""
