"""Generated protobuf modules for USP 1.4 (make proto); never hand-edited."""
