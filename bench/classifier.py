"""Classifier benchmark: the otklik model against a plain TF-IDF (word 1-2) + LogisticRegression,
both trained here on the same training split of the seed corpus, in one process, on one core.

Figures: texts/s for a batch (``IncidentModel.classify`` on many texts; the baseline's
``predict_proba``), texts/s and p50/p99 latency one message at a time (as the service calls it:
``classify([text], explain=True)``; p99 also of the thread's CPU time, which another process on
the machine does not inflate), each as wall-clock rate and as texts per CPU-second (the
"per core" figure, which another process on the machine does not dilute). Texts: the held-out
split repeated up to --texts; with RuSentiment present (read by path, never copied), also its
texts once, caches cold: real VK chatter whose words the model has mostly never seen. BLAS is
held to one thread. Figures are printed, never asserted.

    .venv/bin/python -m bench.classifier [--texts N] [--single N] [--rusentiment DIR]
"""

import argparse
import os
import pickle
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.pipeline import Pipeline, make_pipeline
from threadpoolctl import threadpool_limits

from classifier.corpus import load_corpus, split
from classifier.domain import features
from classifier.domain.model import IncidentModel
from classifier.evaluation import DEFAULT_RUSENTIMENT, read_labelled_csv
from classifier.training import evaluate, train


@dataclass(frozen=True)
class Rate:
    texts: int
    wall: float
    cpu: float

    def line(self, name: str) -> str:
        return (
            f"  {name:44s} {self.texts / self.wall:9,.0f} texts/s"
            f"   {self.texts / self.cpu:9,.0f} texts/CPU-s"
        )


@dataclass(frozen=True)
class Single:
    rate: Rate
    p50_ms: float
    p99_ms: float
    cpu_p99_ms: float  # the thread's own CPU time: what the neighbours' load does not add


def timed(run: Callable[[], Any], texts: int) -> Rate:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return Rate(texts, time.perf_counter() - wall, time.process_time() - cpu)


def one_at_a_time(classify: Callable[[str], Any], texts: list[str]) -> Single:
    latencies, cpu_times = [], []
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        classify(text)
        cpu_times.append((time.thread_time_ns() - started_cpu) / 1e6)
        latencies.append((time.perf_counter_ns() - started) / 1e6)
    rate = Rate(len(texts), time.perf_counter() - wall, time.process_time() - cpu)
    percentiles = statistics.quantiles(latencies, n=100, method="inclusive")
    cpu_p99 = statistics.quantiles(cpu_times, n=100, method="inclusive")[98]
    return Single(rate, percentiles[49], percentiles[98], cpu_p99)


def baseline_model(texts: list[str], labels: list[bool]) -> Pipeline:
    """What one would write first: word 1-2-gram TF-IDF on raw text and a logistic regression."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000),
    )
    return pipeline.fit(texts, labels)


def freshly_loaded(model: IncidentModel) -> IncidentModel:
    """The model as a just-started service has it: pickled caches are dropped, so no word's
    n-grams are known yet, and no lemma is cached."""
    features.lemma.cache_clear()
    fresh = pickle.loads(pickle.dumps(model))
    assert isinstance(fresh, IncidentModel)
    return fresh


def ratio(ours: Rate, theirs: Rate) -> str:
    """otklik's rate over the baseline's, per CPU-second and by the wall clock."""
    return (
        f"  ratio otklik/baseline: {theirs.cpu / ours.cpu:.2f} per CPU-second, "
        f"{theirs.wall / ours.wall:.2f} by the wall clock"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=50_000, help="batch size (held-out repeated)")
    parser.add_argument("--single", type=int, default=5_000, help="messages one at a time")
    parser.add_argument("--rusentiment", type=Path, default=DEFAULT_RUSENTIMENT)
    args = parser.parse_args()
    with threadpool_limits(limits=1, user_api="blas"):
        run(args.texts, args.single, args.rusentiment)


def run(n_texts: int, n_single: int, rusentiment: Path) -> None:
    train_set, held_out = split(load_corpus())
    started = time.perf_counter()
    model = train(train_set)
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    base = baseline_model([e.text for e in train_set], [e.is_incident for e in train_set])
    base_seconds = time.perf_counter() - started
    texts = [e.text for e in held_out]
    batch = (texts * (n_texts // len(texts) + 1))[:n_texts]
    singles = batch[:n_single]

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; BLAS 1 thread")
    print(f"training on {len(train_set)} texts: otklik {model_seconds:.1f} s, baseline "
          f"{base_seconds:.1f} s")  # fmt: skip
    quality = evaluate(model, held_out)
    base_flags = base.predict(texts).tolist()
    p, r, f1, _ = precision_recall_fscore_support(
        [e.is_incident for e in held_out], base_flags, average="binary", zero_division=0
    )
    print(f"held-out ({len(held_out)}): otklik P {quality['precision']:.3f} R "
          f"{quality['recall']:.3f} F1 {quality['f1']:.3f} (threshold {model.threshold:.3f}); "
          f"baseline P {p:.3f} R {r:.3f} F1 {f1:.3f} (threshold 0.5)")  # fmt: skip

    fresh = freshly_loaded(model)
    cold = timed(lambda: fresh.classify(texts), len(texts))
    ours = timed(lambda: model.classify(batch), len(batch))
    theirs = timed(lambda: base.predict_proba(batch), len(batch))
    print(f"batch, held-out repeated to {len(batch)} texts:")
    print(cold.line("otklik, first pass over held-out (cold)"))
    print(ours.line("otklik classify (warm caches)"))
    print(theirs.line("baseline predict_proba"))
    print(ratio(ours, theirs))

    ours_one = one_at_a_time(lambda t: model.classify([t], explain=True), singles)
    theirs_one = one_at_a_time(lambda t: base.predict_proba([t]), singles)
    print(f"one message at a time, {len(singles)} messages:")
    for name, single in (("otklik classify([t], explain=True)", ours_one),
                         ("baseline predict_proba([t])", theirs_one)):  # fmt: skip
        print(
            single.rate.line(name) + f"   p50 {single.p50_ms:.3f} ms  p99 {single.p99_ms:.3f} ms"
            f"  (p99 of CPU time {single.cpu_p99_ms:.3f} ms)"
        )
    print(ratio(ours_one.rate, theirs_one.rate))
    print(f"  p99 latency otklik/baseline: {ours_one.p99_ms / theirs_one.p99_ms:.2f}")

    if rusentiment.exists():
        chatter = [row.text for row in read_labelled_csv(rusentiment)]
        fresh = freshly_loaded(model)
        ours_cold = timed(lambda: fresh.classify(chatter), len(chatter))
        theirs_cold = timed(lambda: base.predict_proba(chatter), len(chatter))
        print(f"RuSentiment ({rusentiment}), {len(chatter)} texts once, caches cold:")
        print(ours_cold.line("otklik classify"))
        print(theirs_cold.line("baseline predict_proba"))
        print(ratio(ours_cold, theirs_cold))
    else:
        print(f"RuSentiment not found at {rusentiment}: skipped")


if __name__ == "__main__":
    main()
