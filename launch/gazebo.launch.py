"""synth_agent on Gazebo (Harmonic or newer) instead of the embedded MuJoCo simulator.

    ros2 launch synth_agent gazebo.launch.py            # add gz_args:="-r -s" for headless

Starts `gz sim` with worlds/apartment.sdf (the same apartment and robot as the embedded
simulator, generated from its MJCF by synth_agent/sim/sdf.py), ros_gz_bridge with
config/gz_bridge.yaml, and graph.py's robot node set on simulated time. Needs the ros_gz_sim
and ros_gz_bridge packages (e.g. `apt install ros-jazzy-ros-gz`).
"""

from synth_agent.launch_description import generate_gazebo


def generate_launch_description():
    return generate_gazebo()
