"""Side effects: database writes, due-time computation, adapters to outside systems."""
