"""Thin rclpy shells around `synth_agent.core`: parameters, topics, QoS, timers, conversions."""
