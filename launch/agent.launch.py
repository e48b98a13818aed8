"""synth_agent on a real robot: every node but the simulator.

    ros2 launch synth_agent agent.launch.py namespace:=robot1 params_file:=my_robot.yaml

The node set, parameter files and remaps come from synth_agent/graph.py, the same data that
`synth-agent up` starts pip-only.
"""

from synth_agent.launch_description import generate


def generate_launch_description():
    return generate(sim=False)
