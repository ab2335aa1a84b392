"""Project paths in one place (relative to the repository root, where the commands run)."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
AUTHORING_DIR = DATA_DIR / "authoring"
SPLITS_DIR = DATA_DIR / "splits"
CONFIGS_DIR = PROJECT_ROOT / "training" / "configs"
COLD_TEST_CSV = PROJECT_ROOT.parent / "shared" / "external" / "COLD" / "test.csv"
