"""Pure-Python behaviour of synth_agent. Nothing in this package imports rclpy, so every rule can
be tested directly with plain values and an explicit `now`."""
