"""nbgrader's exchange with every student's files private to that student and the instructor.

nbgrader 0.9's default exchange hides submissions and feedback only by name: a
student cannot list ``inbound/`` (mode 2733) or ``feedback/`` (0711), but a
submission is a folder of mode 0777 with files of mode 0644, and a released
feedback page has the mode of the instructor's copy (0644). Anyone who learns a
name reads the file, and the submission folder holds ``submission_secret.txt``,
the key from which the name of that student's feedback page is derived.

The two classes below are nbgrader's own, plugged in with its own option
(``c.ExchangeFactory``, set in the hub's global nbgrader configuration), and
change only the permissions of what they write:

* :class:`PrivateSubmit`: the submitted folder gets mode 0770 instead of 0777.
  ``inbound/`` is set-group-id and belongs to the instructor's group, so the folder
  has that group: the instructor enters, reads and may delete it; other students
  cannot enter it, and get "Permission denied" even with the exact path.
* :class:`PrivateReleaseFeedback`: each released page gets mode 0600 plus a POSIX
  ACL entry that lets its student, and only them, read it (``user:<student>:r``).
  It needs a local account per student (a hub has one) and a file system with
  ACLs (ext4, xfs, btrfs, tmpfs); where either is missing the release stops with
  a message, the page keeping nbgrader's default protection (its secret name).
"""
from __future__ import annotations

import errno
import glob
import os
import pwd
import struct
from pathlib import Path

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

# POSIX ACL as Linux stores it in the "system.posix_acl_access" attribute (acl(5)):
# a version word, then (tag, permissions, id) entries sorted by tag.
_ACL_VERSION = 2
_USER_OBJ, _USER, _GROUP_OBJ, _MASK, _OTHER = 0x01, 0x02, 0x04, 0x10, 0x20
_NO_ID = 0xFFFFFFFF
_READ, _WRITE = 4, 2


def owner_and_reader_acl(reader_uid: int) -> bytes:
    """An access ACL equal to mode 0600 plus ``user:<reader_uid>:r``."""
    entries = [(_USER_OBJ, _READ | _WRITE, _NO_ID), (_USER, _READ, reader_uid),
               (_GROUP_OBJ, 0, _NO_ID), (_MASK, _READ, _NO_ID), (_OTHER, 0, _NO_ID)]
    return struct.pack("<I", _ACL_VERSION) + b"".join(struct.pack("<HHI", *e) for e in entries)


class PrivateSubmit(ExchangeSubmit):
    """``nbgrader submit``, leaving the copy in the exchange to its student and the
    instructor's group."""

    def copy_files(self) -> None:
        super().copy_files()
        folder = os.path.join(self.inbound_path, self.assignment_filename)
        if os.stat(folder).st_gid != os.stat(self.inbound_path).st_gid:
            self.log.warning("%s is not set-group-id: the submission stays readable by name, "
                             "as in nbgrader's default exchange", self.inbound_path)
            return
        os.chmod(folder, 0o770)


class PrivateReleaseFeedback(ExchangeReleaseFeedback):
    """``nbgrader release_feedback``, leaving each released page readable by its student only."""

    def released_pages(self) -> list[tuple[str, str]]:
        """(student id, page in the exchange) for every page this release wrote, found as
        nbgrader names them: the hash of the submission's secret and the notebook's name."""
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        pages = []
        for html in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            folder = Path(html).parent
            student = folder.parent.name
            secret_file = folder / "submission_secret.txt"
            if student in excluded or not secret_file.is_file():
                continue
            name = notebook_hash(secret=secret_file.read_text(), notebook_id=Path(html).stem)
            page = os.path.join(self.dest_path, f"{name}.html")
            if os.path.isfile(page):
                pages.append((student, page))
        return pages

    def copy_files(self) -> None:
        super().copy_files()
        problems = []
        for student, page in self.released_pages():
            try:
                uid = pwd.getpwnam(student).pw_uid
            except KeyError:
                problems.append(f"{student}: no local account of that name")
                continue
            try:
                os.setxattr(page, "system.posix_acl_access", owner_and_reader_acl(uid))
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                problems.append(f"{student}: the file system of {self.root} has no ACLs")
        if problems:
            self.fail("feedback released, but these pages could not be made private to their "
                      "student (they are protected only by their secret names, as in nbgrader's "
                      "default exchange):\n  " + "\n  ".join(problems))
