"""What meets the outside: the payload converter and codec, the key rings, the ID hash with its key
ring, the database column type, metrics, the Temporal connection, the settings, and the supervisor
of N worker processes."""
