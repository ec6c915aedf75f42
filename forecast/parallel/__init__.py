"""Training work as tasks: each fold x repeat fit (and each final fit) is a pure function of its
data, configs and seed that returns its results; a Scheduler runs them on an executor (in this
process, local worker processes, or Ray) and the driver alone talks to MLflow. Results depend on
the threads per fit, never on the executor or the worker count."""
