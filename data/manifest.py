"""The manifest of the embedded data files: row count and SHA-256 of every file a loader reads.

``data/manifest.json`` is written by ``python -m data.build_embedded`` (and by
``python -m data.manifest`` for files edited by hand) and checked by every
loader before a file is used: a truncated, header-only, edited or replaced file
is refused with a :class:`~data.schema.DataValidationError` naming the file,
the rows expected and found and both checksums. Nothing is repaired.

The data folder is ``$KOSMOS_DATA_DIR`` when set (tests point it at a copied
folder), else the ``data/`` package folder. A file outside the data folder
(a test's own file) is checked only when a ``manifest.json`` lies beside it.

``python -m data.manifest [--dir DIR] [--check]`` (re)writes the manifest from
the files as they are, or with ``--check`` verifies them (exit 1 on a mismatch).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import sys
from pathlib import Path

from data.schema import DataValidationError, ValidationIssue

PACKAGE_DIR = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
#: files read from the data folder besides its ``*.csv`` (relative paths, POSIX separators)
EXTRA_FILES: tuple[str, ...] = ("reference/explanations.csv", "reference/published_ratios.csv")


def data_dir() -> Path:
    """The folder the embedded files are read from: ``$KOSMOS_DATA_DIR``, else the package folder."""
    env = os.environ.get("KOSMOS_DATA_DIR")
    return Path(env).expanduser().resolve() if env else PACKAGE_DIR


def sha256_of(raw: bytes) -> str:
    """Hex SHA-256 of ``raw``."""
    return hashlib.sha256(raw).hexdigest()


def count_rows(raw: bytes) -> int:
    """Data rows of a CSV (records after the header; quoted line breaks stay inside their record)."""
    text = raw.decode("utf-8-sig", errors="replace")
    try:
        records = sum(1 for rec in csv.reader(io.StringIO(text, newline="")) if rec)
    except csv.Error:  # e.g. a file cut inside a quoted cell: count lines instead
        records = sum(1 for line in text.splitlines() if line.strip())
    return max(0, records - 1)


def manifest_files(folder: Path) -> list[str]:
    """The files a manifest of ``folder`` covers: every ``*.csv`` in it plus :data:`EXTRA_FILES` present."""
    names = sorted(p.name for p in folder.glob("*.csv"))
    return names + [rel for rel in EXTRA_FILES if (folder / rel).is_file()]


def build_manifest(folder: Path) -> dict:
    """Manifest of ``folder`` as it is now (no timestamp: unchanged files give an identical manifest)."""
    files = {}
    for rel in manifest_files(folder):
        raw = (folder / rel).read_bytes()
        files[rel] = {"rows": count_rows(raw), "sha256": sha256_of(raw)}
    return {"version": MANIFEST_VERSION, "written_by": "python -m data.manifest", "files": files}


def write_manifest(folder: Path | None = None) -> Path:
    """(Re)write ``folder``'s manifest (default: the data folder) from its current files; returns its path."""
    folder = Path(folder) if folder is not None else data_dir()
    path = folder / MANIFEST_NAME
    text = json.dumps(build_manifest(folder), indent=2, sort_keys=True) + "\n"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_manifest(folder: Path) -> dict | None:
    """``folder``'s manifest, or None when it has none; an unreadable manifest is a data error."""
    path = folder / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _error(MANIFEST_NAME, f"cannot read the manifest: {exc}") from None
    try:
        manifest = json.loads(text)
        if not isinstance(manifest.get("files"), dict):
            raise ValueError("no 'files' table")
    except (ValueError, AttributeError) as exc:
        raise _error(MANIFEST_NAME, f"the manifest is not valid ({exc}); "
                                    "rewrite it with python -m data.manifest") from None
    return manifest


def _error(file: str, message: str) -> DataValidationError:
    return DataValidationError([ValidationIssue(file, None, None, message)])


def _locate(path: Path) -> tuple[Path, str, bool]:
    """(folder whose manifest covers ``path``, key of ``path`` in it, whether that folder is the data folder)."""
    root = data_dir()
    resolved = path.resolve()
    try:
        return root, resolved.relative_to(root).as_posix(), True
    except ValueError:
        return resolved.parent, resolved.name, False


def check_file(path: Path, raw: bytes) -> None:
    """Refuse ``raw`` (the bytes of ``path``) unless they are the bytes the manifest recorded.

    Raises :class:`DataValidationError` naming the file, the expected and found
    row counts and checksums. Files of the data folder must be listed in its
    manifest; a file elsewhere is checked only against a manifest beside it.
    """
    folder, key, in_data_dir = _locate(path)
    manifest = read_manifest(folder)
    if manifest is None:
        if in_data_dir:
            raise _error(key, f"{folder / MANIFEST_NAME} is missing, so this file cannot be checked; "
                              "rebuild with python -m data.build_embedded or python -m data.manifest")
        return
    entry = manifest["files"].get(key)
    if entry is None:
        if in_data_dir:
            raise _error(key, f"not listed in {MANIFEST_NAME}; rewrite it with python -m data.manifest")
        return
    found = sha256_of(raw)
    if found == entry.get("sha256"):
        return
    rows = count_rows(raw)
    expected_rows = entry.get("rows")
    what = "truncated or cut" if isinstance(expected_rows, int) and rows < expected_rows else "edited or replaced"
    raise _error(key, f"does not match {MANIFEST_NAME} ({what}): expected {expected_rows} rows, found {rows}; "
                      f"sha256 expected {str(entry.get('sha256'))[:16]}…, found {found[:16]}…. "
                      "Restore the file, or rebuild with python -m data.build_embedded")


def listed_in_manifest(path: Path) -> bool:
    """Whether the manifest covering ``path`` lists it (a listed file must exist)."""
    folder, key, _ = _locate(path)
    manifest = read_manifest(folder)
    return manifest is not None and key in manifest["files"]


def read_checked(path: Path) -> bytes:
    """The bytes of ``path`` after :func:`check_file`; a missing file is a data error naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _error(path.name, "file not found") from None
    except OSError as exc:
        raise _error(path.name, f"cannot read the file: {exc}") from None
    check_file(path, raw)
    return raw


def verify(folder: Path) -> list[ValidationIssue]:
    """Every mismatch between ``folder``'s files and its manifest (empty when all match)."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [ValidationIssue(MANIFEST_NAME, None, None, f"{folder / MANIFEST_NAME} is missing")]
    issues: list[ValidationIssue] = []
    for key in manifest["files"]:
        try:
            check_file(folder / key, (folder / key).read_bytes())
        except FileNotFoundError:
            issues.append(ValidationIssue(key, None, None, "file not found"))
        except DataValidationError as exc:
            issues.extend(exc.issues)
    for key in sorted(set(manifest_files(folder)) - set(manifest["files"])):
        issues.append(ValidationIssue(key, None, None, f"not listed in {MANIFEST_NAME}"))
    return issues


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.manifest", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="data folder (default: $KOSMOS_DATA_DIR or data/)")
    parser.add_argument("--check", action="store_true",
                        help="verify the files against the manifest; exit 1 on a mismatch")
    args = parser.parse_args(argv)
    folder = args.dir or data_dir()
    if args.check:
        issues = verify(folder)
        for issue in issues:
            print(f"- {issue}", file=sys.stderr)
        print(f"{MANIFEST_NAME}: {'OK' if not issues else f'{len(issues)} mismatch(es)'}")
        return 1 if issues else 0
    path = write_manifest(folder)
    n = len(json.loads(path.read_text())["files"])
    print(f"Wrote {path} ({n} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
