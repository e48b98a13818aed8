"""synth_agent with the embedded MuJoCo simulator (use_sim_time defaults to true).

    ros2 launch synth_agent sim.launch.py

The node set, parameter files and remaps come from synth_agent/graph.py, the same data that
`synth-agent up --sim` starts pip-only.
"""

from synth_agent.launch_description import generate


def generate_launch_description():
    return generate(sim=True)
