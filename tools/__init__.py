"""Development tools that stay out of the installed package: the test-data generator (``tools.synthetic``) used by
the tests, the benchmarks and ``notebooks/examples/demo_tweets.csv``. They run from a source checkout only."""
