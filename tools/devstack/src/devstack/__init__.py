"""The local stack without Docker (decisions 0001, 0063).

`profiles` holds every port and path of the three stacks (dev, test, bench); `kafka` and `postgres` start and stop
one server each; `stack` is a whole profile (servers, tokens, env file); `platform` runs the services on it
(`make run/up/down/status/test`); `procs` is the one place that starts, watches and stops processes; `envfile` writes
and reads the env file; `cli` is the `devstack` command.
"""
