"""Table adapters: the worksheet seen as header + rows, with result write-back."""
