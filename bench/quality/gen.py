# Data for the README's re-measured table of issue 11 (pure Python, seeded):
# scikit-learn's digits (1797 x 64) and synthetic sentence-like embeddings
# (100,000 x 384: a rank-16 signal with spectrum j^-1/2, noise, a common mean
# direction, rows scaled to unit length).
import gzip, math, random
with gzip.open('/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz', 'rt') as f, open('digits.tsv', 'w') as o:
    for i, line in enumerate(f):
        v = line.strip().split(',')[:64]
        o.write('%d\t{%s}\n' % (i + 1, ','.join(v)))
r = random.Random(7)
n, dim, k = 100000, 384, 16
A = [[r.gauss(0, 1) / math.sqrt(dim) for _ in range(dim)] for _ in range(k)]
mean = [r.gauss(0, 1) for _ in range(dim)]
s = math.sqrt(sum(x * x for x in mean)); mean = [1.2 * x / s for x in mean]
sd = [j ** -0.5 * 3 for j in range(1, k + 1)]
noise = 0.6 / math.sqrt(dim)
with open('emb.tsv', 'w') as o:
    for i in range(n):
        u = [r.gauss(0, sd[j]) for j in range(k)]
        x = list(mean)
        for j in range(k):
            uj, Aj = u[j], A[j]
            for c in range(dim):
                x[c] += uj * Aj[c]
        x = [v + r.gauss(0, noise) for v in x]
        s = math.sqrt(sum(v * v for v in x))
        o.write('%d\t{%s}\n' % (i + 1, ','.join('%.6g' % (v / s) for v in x)))
