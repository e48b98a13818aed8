"""ament_python build script: installs the package, its launch/, config/ and worlds/ files and
one console script per node, so `ros2 run synth_agent <node>` and `.venv/bin/<node>` start the
same code."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "synth_agent"
NODES = ["perception", "reasoning", "motor_control", "safety_gate", "voice", "sim"]

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*", "bench"]),
    package_data={PACKAGE: ["sim/assets/*", "sim/assets/**/*", "core/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.pgm")),
        (f"share/{PACKAGE}/worlds", glob("worlds/*.sdf")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="synth_agent maintainers",
    maintainer_email="maintainers@synth-agent.org",
    description="Plain-language command of a mobile robot behind a safety gate.",
    license="Apache-2.0",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [f"{n} = {PACKAGE}.nodes.entry:{n}" for n in NODES]
        + [f"synth-agent = {PACKAGE}.cli:main"],
    },
)
