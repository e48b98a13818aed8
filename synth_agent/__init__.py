"""synth_agent: plain-language command of a mobile robot behind a safety gate.

`core/` holds all behaviour as plain Python (no rclpy); `nodes/` holds the thin ROS 2 shells;
`graph.py` is the node set that the launch files and `synth-agent up` both start.
"""

__version__ = "0.1.0"
