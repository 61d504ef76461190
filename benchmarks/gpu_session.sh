#!/usr/bin/env bash
# Everything the bears issue measures on a GPU, in one command (see benchmarks/README.md).
#
# Runs on a machine with a CUDA GPU and PyTorch already installed, from the repository root,
# without installing sgdlab (PYTHONPATH points at the checkout). Results go to $OUT (the device
# tool's output folder) or ./gpu-results:
#   env.txt        the GPU, the driver, torch and torchvision versions
#   test_cuda.txt  tests/vision/test_cuda.py (the data pipeline, Learner, lr_find, checkpoints on CUDA)
#   agreement.txt  benchmarks/cpu_gpu_agreement.py on the bear photos: float32, tf32, bf16
#   bears.txt      benchmarks/bears.py --device cuda: throughput against plain PyTorch and the
#                  from-scratch error at 224 px
#   throughput_bs*.txt  throughput alone at larger batches (the steady-state images/s)
set -uo pipefail
out=${OUT:-gpu-results}
mkdir -p "$out"
bears=${SGDLAB_BEARS:-.bears}
py=${PYTHON:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 SGDLAB_BEARS=$bears
if [ ! -d "$bears/teddys" ]; then
    echo "no bear photos in $bears: copy ../shared/bears there and carry it (benchmarks/README.md)"
    exit 2
fi
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  $py -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__, torch.cuda.get_device_name())"
} 2>&1 | tee "$out/env.txt"
status=0
$py -m pytest -q -p no:cacheprovider tests/vision/test_cuda.py 2>&1 | tee "$out/test_cuda.txt" || status=1
$py benchmarks/cpu_gpu_agreement.py --devices cpu cuda --data "$bears" 2>&1 | tee "$out/agreement.txt" || status=1
$py benchmarks/bears.py --device cuda --data "$bears" 2>&1 | tee "$out/bears.txt" || status=1
for bs in 64 128; do
    $py benchmarks/bears.py --device cuda --data "$bears" --part throughput --batch-size "$bs" \
        2>&1 | tee "$out/throughput_bs$bs.txt" || status=1
done
exit $status
