"""Project paths in one place (relative to the repository root, where the commands run)."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
AUTHORING_DIR = DATA_DIR / "authoring"
SPLITS_DIR = DATA_DIR / "splits"
CONFIGS_DIR = PROJECT_ROOT / "training" / "configs"
# The shared/ folder beside the checkout, or beside a folder above it (a git worktree in wt/NAME).
SHARED_DIR = next((p / "shared" for p in PROJECT_ROOT.parents if (p / "shared").is_dir()),
                  PROJECT_ROOT.parent / "shared")
COLD_TEST_CSV = SHARED_DIR / "external" / "COLD" / "test.csv"
EVAL_CORPORA_DIR = SHARED_DIR / "corpora" / "eval"
PRETRAIN_CORPORA_DIR = SHARED_DIR / "corpora" / "pretrain"
