"""`make run`: prepare the database, the model and a token, then serve with gunicorn.

Everything here is idempotent, so `make run` can be repeated: the database is
migrated to the latest schema, the registry gets the bundled model only when it
holds none, and the local token is reused while the database still knows it.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = REPO / "models" / "bundled"


def flask_cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", *args],
                            cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{result.stderr or result.stdout}")
    return result.stdout


def ensure_model(models_dir: Path) -> str:
    """Publish the bundled model (or, lacking one, a tiny untrained one) into an empty registry."""
    from backend.registry import ModelRegistry

    registry = ModelRegistry(models_dir)
    if registry.current_version_name():
        return f"model {registry.current_version_name()} from {models_dir}"
    if (BUNDLED_MODEL / "encoder_model.onnx").is_file():
        return f"model {registry.publish(BUNDLED_MODEL)} (the bundled model) into {models_dir}"
    from trainer.export import export_onnx
    from trainer.tiny import build_model

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = build_model(Path(tmp) / "checkpoint")
        onnx_dir = export_onnx(checkpoint, Path(tmp) / "onnx", {
            "trained": False,
            "note": "UNTRAINED placeholder: no bundled model was found (run `make model`); "
                    "its descriptions are meaningless"})
        version = registry.publish(onnx_dir)
    return f"model {version}: UNTRAINED placeholder (no bundled model found; run `make model`)"


def local_token(database_url: str) -> str:
    """The token of this machine's own user, kept (mode 0600) beside the database it belongs to."""
    key = hashlib.sha256(database_url.encode()).hexdigest()[:12]
    path = REPO / "var" / f"local-token-{key}"
    if path.is_file():
        token = path.read_text().strip()
        if token and flask_cli("tokens", "check", token).strip() == "valid":
            return token
    token = flask_cli("tokens", "create", f"local-{key}").strip().splitlines()[-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def main() -> None:
    from backend.config import SERVING_ENV, Config

    config = Config.from_env()
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    (REPO / "var").mkdir(exist_ok=True)
    flask_cli("init-db")
    model_line = ensure_model(Path(config.models_dir))
    token = local_token(config.database_url)
    print(f"""
altlens backend
  listening on   http://{host}:{port}
  database       {config.database_url}
  {model_line}
  access token   {token}
Paste the URL and the token into the extension's options page.
""", flush=True)
    workers = os.environ.get("WORKERS", "2")
    os.environ.update(SERVING_ENV)
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
                              "--workers", workers, "--threads", "4", "--timeout", "120",
                              "--chdir", str(REPO), "backend:create_app()"])


if __name__ == "__main__":
    main()
