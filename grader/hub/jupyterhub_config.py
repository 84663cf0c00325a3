"""JupyterHub configuration of the class hub (read by ``jupyterhub -f``).

`python -m grader hub` writes the settings (``$DLCOURSE_HUB_SETTINGS``, a JSON file
of grader.hub.prepare.Settings) and starts JupyterHub with this file. For real
accounts, replace the authenticator here (see README, "A class hub"); the rest stays.
"""
import os

from grader.hub.prepare import Settings, user_environment

c = get_config()  # noqa: F821  (provided by traitlets when the file is loaded)
s = Settings.load(os.environ["DLCOURSE_HUB_SETTINGS"])

# Where it listens: the proxy on ip:port for the browsers; the hub and the proxy's
# API on localhost only.
c.JupyterHub.ip = s.ip
c.JupyterHub.port = s.port
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = s.hub_port
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [s.proxy]
c.ConfigurableHTTPProxy.pid_file = str(s.private / "jupyterhub-proxy.pid")

# Its state: users and tokens, the cookie secret (in a folder only root may enter).
c.JupyterHub.db_url = f"sqlite:///{s.private / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(s.private / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(s.private / "jupyterhub.pid")

# Who may log in: the local accounts of the class, with their passwords (PAM).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {s.instructor, *s.students}

# Each user's server runs as that local user, from the course environment: JupyterLab
# with nbgrader's extension (Assignments tab, Validate button).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(s.python_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 300  # a loaded machine takes a while to import JupyterLab
c.Spawner.http_timeout = 300
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server


def course_environment(spawner):
    """The course environment and the class's nbgrader configuration, by role; the
    instructor's server opens in their course folder, a student's in their home."""
    spawner.environment.update(user_environment(s, spawner.user.name))
    if spawner.user.name == s.instructor:
        spawner.notebook_dir = s.instructor_course


c.Spawner.pre_spawn_hook = course_environment
