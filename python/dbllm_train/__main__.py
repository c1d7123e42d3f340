import os
import sys

# OpenBLAS (Debian's torch calls it through the generic BLAS interface) starts its own threads and does not follow
# torch.set_num_threads: take --threads N for it too, before torch is imported.
if "--threads" in sys.argv:
    i = sys.argv.index("--threads")
    if i + 1 < len(sys.argv) and sys.argv[i + 1].isdigit() and int(sys.argv[i + 1]) > 0:
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(k, sys.argv[i + 1])

from .cli import main  # noqa: E402

sys.exit(main())
