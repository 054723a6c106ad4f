"""Write the golden records that tests/test_golden.py compares against: ``python tests/golden/make_golden.py``.

Run it only when a change to the records is intended, and say why in the commit: the
golden files hold what `fer predict` and `fer evaluate -f json` printed before the
refactor that made the commands thin layers over the public API.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from golden_inputs import fer_slice, golden_commands, run_fer  # noqa: E402


def main() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fer_slice(tmp / "slice")
        golden = {name: run_fer(arguments, cwd) for name, (cwd, arguments) in golden_commands(tmp).items()}
    (HERE / "records.json").write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
