"""bench/results/latency.png: cold totals against their budgets, and warm
latency against the raw floor."""

from .measure import ALL_FUNCTIONS, FUNCTIONS
from .targets import COLD_TARGET


def chart(path, M):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tls, ci, warm = M["tls"], M["connect_init"], M["warm"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    names = [f for f in ALL_FUNCTIONS if f in tls]
    x = range(len(names))
    w = 0.38
    if names and ci:
        init = [tls[f]["init50"] for f in names]
        first = [tls[f]["total50"] - tls[f]["init50"] for f in names]
        budget = [ci + tls[f]["warm50"] for f in names]
        ax1.bar([i - w / 2 for i in x], init, w, label="init (p50)", color="#3b75af")
        ax1.bar([i - w / 2 for i in x], first, w, bottom=init, label="first answer", color="#9ec3e6")
        ax1.bar([i + w / 2 for i in x], budget, w, label="floor init + same request warm", color="#888888")
        ax1.scatter([i + w / 2 for i in x], [b * COLD_TARGET for b in budget], marker="_", s=300,
                    color="#c0392b", zorder=3, label=f"target: {COLD_TARGET} × that")
        for i, f in enumerate(names):
            ax1.text(i - w / 2, init[i] + first[i], f"{(init[i] + first[i]) / budget[i]:.2f}×", ha="center",
                     va="bottom", fontsize=8)
        top = max(max(a + b for a, b in zip(init, first)), max(budget) * COLD_TARGET)
        ax1.set_ylim(0, top * 1.35)
    ax1.set_xticks(list(x))
    ax1.set_xticklabels(names, rotation=25)
    ax1.set_ylabel("ms")
    ax1.set_title("Cold total with TLS (init + first answer, p50)")
    ax1.legend(fontsize=8, loc="upper left", ncol=2)

    x = range(len(FUNCTIONS))
    net = [warm[f]["net50"] for f in FUNCTIONS]
    arg = [warm[f]["argon"] for f in FUNCTIONS]
    flo = [warm[f]["floor50"] for f in FUNCTIONS]
    ax2.bar([i - w / 2 for i in x], net, w, label="function − Argon2 (p50)", color="#3b75af")
    ax2.bar([i - w / 2 for i in x], arg, w, bottom=net, label="Argon2 (p50)", color="#f0ad4e")
    ax2.bar([i + w / 2 for i in x], flo, w, label="raw DynamoDB floor (p50)", color="#888888")
    ax2.scatter([i - w / 2 for i in x], [warm[f]["p99"] for f in FUNCTIONS], marker="_", s=300, color="black",
                label="function p99", zorder=3)
    ax2.scatter([i + w / 2 for i in x], [warm[f]["floor99"] for f in FUNCTIONS], marker="_", s=300,
                color="#555555", zorder=3)
    for i, f in enumerate(FUNCTIONS):
        ax2.text(i - w / 2, (net[i] + arg[i]) * 1.08, f"{warm[f]['ratio50']:.2f}× floor\n(minus Argon2)",
                 ha="center", va="bottom", fontsize=7)
    ax2.set_yscale("log")
    # The bars start at the axis: below the smallest, or a fast function's
    # bar (status-check's 2 ms) falls under the log axis's automatic floor.
    lows = [v for v in net + flo if v > 0]
    if lows:
        ax2.set_ylim(bottom=min(lows) / 2)
    ax2.set_xticks(list(x))
    ax2.set_xticklabels(FUNCTIONS, rotation=25)
    ax2.set_ylabel("ms (log scale)")
    ax2.set_title("Warm invocation vs the same DynamoDB calls made raw")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
