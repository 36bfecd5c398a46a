"""How much to measure: the full run (`make bench`, ~28 min) or the quick subset (~2 min)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Repetitions and durations of every section."""

    quick: bool
    train_passes: int  # alternated passes over ours / reference / torch / sgemm
    train_threads: tuple[int, ...]  # BLAS/OpenMP thread counts to train at, the same for all
    train_batches: int  # 0: whole epochs; else partial epochs of this many batches, extrapolated
    engine_passes: int
    engine_calls1: int
    engine_calls1024: int
    engine_repeats: int
    http_points: tuple[tuple[str, int], ...]  # (payload, connections)
    http_seconds: float
    http_warmup: float
    http_passes: int
    mlserver_workers: tuple[int, ...]  # parallel_workers settings of MLServer to run
    profile_seconds: float  # py-spy sampling of one of our workers under load
    front_passes: int  # alternated passes of the front section's throughput comparison
    front_seconds: float  # wrk seconds per point there (keep-alive, then Connection: close)
    slow_seconds: float  # window of the 256 slow connections
    paired_rounds: int  # pairs of each A/B of our own variants (bench.http.paired)
    paired_seconds: float  # wrk seconds per side of a pair


FULL = Settings(
    quick=False,
    train_passes=3,  # a median of 3: one disturbed pass of 2 moved the epoch by 15 %
    train_threads=(1, 2),
    train_batches=0,
    engine_passes=3,
    engine_calls1=3000,
    engine_calls1024=20,
    engine_repeats=7,
    http_points=(("single", 1), ("single", 8), ("single", 32), ("batch64", 8)),
    http_seconds=8.0,
    http_warmup=2.0,
    http_passes=3,  # a median of 3: with 2, one disturbed point moved a ratio by 10 %
    mlserver_workers=(0, 2),
    profile_seconds=8.0,
    front_passes=3,
    front_seconds=6.0,
    slow_seconds=12.0,
    paired_rounds=20,  # ±15 % run to run here: 10 pairs moved a median ratio by ±6 %
    paired_seconds=3.0,
)
QUICK = Settings(
    quick=True,
    train_passes=1,
    train_threads=(1,),
    train_batches=150,
    engine_passes=1,
    engine_calls1=1000,
    engine_calls1024=10,
    engine_repeats=3,
    http_points=(("single", 1), ("single", 8), ("batch64", 8)),
    http_seconds=2.0,
    http_warmup=1.0,
    http_passes=1,
    mlserver_workers=(0,),
    profile_seconds=3.0,
    front_passes=1,
    front_seconds=2.0,
    slow_seconds=6.0,
    paired_rounds=2,
    paired_seconds=2.0,
)
