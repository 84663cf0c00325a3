"""``nbgrader collect`` that never follows a symbolic link from the exchange.

Students write ``inbound/`` of nbgrader's exchange. nbgrader 0.9.6 copies each
submission with ``shutil.copytree``, which follows links: a submission folder, or
a notebook in it, that is a link to the instructor's ``solutions/`` would be
copied, solution and hidden tests included, into ``var/submitted``.
:class:`NoFollowCollect` is nbgrader's collect with one change, the copy: folder
by folder from file descriptors, files opened with ``O_NOFOLLOW``, and every link
(or other file that is not a regular file or folder) logged as
"skipped: a symbolic link" and left out. A submission whose folder is itself a
link is not collected at all. nbgrader's options still apply
(``CourseDirectory.ignore``, ``include``, ``max_file_size``, ``max_dir_size``).

grader/nbgrader_config.py plugs it in with nbgrader's own option,
``c.ExchangeFactory.collect``.
"""
from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect

from .collect import MAX_DEPTH, NOFOLLOW_DIR, SKIPPED_LINK, read_nofollow, refusal


class NoFollowCollect(ExchangeCollect):
    """nbgrader's ``ExchangeCollect``, copying without following symbolic links."""

    def init_src(self):
        super().init_src()
        kept = []
        for rec in self.src_records:
            path = os.path.join(self.inbound_path, rec["filename"])
            if os.path.islink(path):
                self.log.warning("%s: %s (to %s): this submission is not collected",
                                 path, SKIPPED_LINK, os.readlink(path))
            else:
                kept.append(rec)
        self.src_records = kept

    def do_copy(self, src, dest, log=None):
        try:
            fd = os.open(src, NOFOLLOW_DIR)
        except OSError as error:
            self.log.warning("%s: %s: this submission is not collected", src,
                             refusal(error, None, src))
            return
        try:
            self._copy_folder(fd, Path(dest), Path(src), depth=0, copied=0)
        except RuntimeError:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        finally:
            os.close(fd)

    def _copy_folder(self, dir_fd: int, dest: Path, shown: Path, depth: int, copied: int) -> int:
        """Copy the open folder ``dir_fd`` (``shown`` in messages) into ``dest``; returns the
        bytes copied so far in this submission."""
        dest.mkdir(parents=True, exist_ok=True)
        for name in sorted(os.listdir(dir_fd)):
            if any(fnmatch.fnmatch(name, glob) for glob in self.coursedir.ignore or []):
                continue
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            if stat.S_ISLNK(mode):
                self.log.warning("%s: %s (to %s): not collected", shown / name, SKIPPED_LINK,
                                 os.readlink(name, dir_fd=dir_fd))
            elif stat.S_ISDIR(mode) and depth >= MAX_DEPTH:
                self.log.warning("%s: skipped: more than %d folders deep", shown / name, MAX_DEPTH)
            elif stat.S_ISDIR(mode):
                sub = os.open(name, NOFOLLOW_DIR, dir_fd=dir_fd)
                try:
                    copied = self._copy_folder(sub, dest / name, shown / name, depth + 1, copied)
                finally:
                    os.close(sub)
            elif stat.S_ISREG(mode):
                copied = self._copy_file(dir_fd, name, dest, shown, copied)
            else:
                self.log.warning("%s: skipped: not a regular file or folder", shown / name)
        return copied

    def _copy_file(self, dir_fd: int, name: str, dest: Path, shown: Path, copied: int) -> int:
        include, max_kb = self.coursedir.include, self.coursedir.max_file_size
        if include and not any(fnmatch.fnmatch(name, glob) for glob in include):
            return copied
        try:
            data, st = read_nofollow(name, dir_fd)
        except OSError as error:
            self.log.warning("%s: %s: not collected", shown / name, refusal(error, dir_fd, name))
            return copied
        if max_kb and len(data) > 1000 * max_kb:
            self.log.warning("Ignoring file too large '%s' (see config option "
                             "CourseDirectory.max_file_size)", shown / name)
            return copied
        copied += len(data)
        if copied > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big: more than "
                               f"{1000 * self.coursedir.max_dir_size} bytes in {shown}")
        (dest / name).write_bytes(data)
        os.chmod(dest / name, st.st_mode & 0o755 | 0o600)
        os.utime(dest / name, ns=(st.st_atime_ns, st.st_mtime_ns))
        return copied
