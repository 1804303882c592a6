"""The console chat adapter: ``/audit`` lines on stdin, reports on stdout, over the pipeline."""
