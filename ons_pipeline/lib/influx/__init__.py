"""InfluxDB: the HTTP client (v1 write + InfluxQL, any engine), credentials, line protocol."""
