"""The embedded MuJoCo simulator: apartment world, diff-drive robot, sensors, person.

Nothing here imports rclpy: `synth_agent.nodes.sim_node` is the ROS shell, while tests and
benchmarks drive `Simulation` directly, stepping physics explicitly with `advance(dt)`.
Modules that need MuJoCo import it through `synth_agent.sim.gl`, which picks a working headless
OpenGL backend first; importing this package (or `synth_agent.sim.config`) does not.
"""
