"""Sample-quality metrics: pure functions on feature and logit arrays.

Every function takes numpy arrays (or anything `np.asarray` accepts) and
returns python floats, small tuples or a dataclass. Features are [N, D]
embeddings of images (e.g. a classifier's penultimate layer); logits are a
classifier's [N, K] outputs.

  frechet_distance           FID (Heusel et al., 2017)
  kernel_inception_distance  KID (Binkowski et al., 2018): (mean, std) over subsets
  precision_recall           improved precision and recall (Kynkaanniemi et al., 2019)
  classifier_score           the Inception score exp(E KL(p(y|x) || p(y))) (Salimans et al., 2016)
  class_coverage             histogram of predicted classes, classes covered, KL to a reference
  nearest_neighbours         Euclidean k-NN, for the memorisation check
  l1_distance, psnr, ssim    per-image distances of translated images to their ground truth
  masked_psnr                PSNR over a mask's pixels only (an inpainted hole)
  label_rate                 the fraction of predicted labels that are the expected ones
  checkerboard_energy        the share of an image's spectral energy on a pixel grid's harmonics:
                             the checkerboard artefacts of strided transposed convolutions

Memory: nothing builds an N x N matrix. Pairwise work (distances, kernels)
runs in blocks of at most _CHUNK_SIZE x _CHUNK_SIZE float64 entries (8 MiB),
and the inputs are converted to float64 one chunk of rows at a time, so
50,000 x 1,024 float32 features need no more than the arrays themselves plus a
few tens of MiB. Per-image metrics convert _PIXEL_BUDGET float64 values of each
image set at a time (a chunk of whole images, at least one).
"""

import dataclasses
import math

import numpy as np

# Rows (and columns) per block of pairwise work. Tests shrink it to check that
# chunking does not change results.
_CHUNK_SIZE = 1024
# Pixel values per chunk of images in the per-image metrics (8 MiB of float64).
_PIXEL_BUDGET = 1 << 20


def _chunks(n):
    """Consecutive slices of at most _CHUNK_SIZE rows covering range(n)."""
    return [slice(start, min(start + _CHUNK_SIZE, n)) for start in range(0, n, _CHUNK_SIZE)]


def _float64_rows(x, rows):
    """x[rows] as float64: inputs are converted one chunk at a time, never whole."""
    return np.asarray(x[rows], np.float64)


def _features(x, name, min_rows):
    """x as a [N, D] array with N >= min_rows, else ValueError naming `name`; keeps x's dtype (no copy)."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [N, D] feature array, got shape {x.shape}; "
                         "flatten images to [N, H*W*C] or pass embeddings.")
    if len(x) < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {len(x)}.")
    return x


def _feature_pair(a, b, name_a, name_b, min_rows):
    """Validates two [N, D] arrays with the same D (see _features)."""
    a, b = _features(a, name_a, min_rows), _features(b, name_b, min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{name_a} and {name_b} must have the same feature size D, got {a.shape[1]} and "
                         f"{b.shape[1]}; embed both with the same network.")
    return a, b


def _positive_int(value, name):
    """value as an int if it is a whole number >= 1, else ValueError naming `name`."""
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


# Fréchet distance.


def _moments(x):
    """Mean [D] and unbiased covariance [D, D] of x [N, D], in float64, two passes over row chunks."""
    n = len(x)
    mean = sum(_float64_rows(x, rows).sum(axis=0) for rows in _chunks(n)) / n
    scatter = np.zeros((x.shape[1], x.shape[1]))
    for rows in _chunks(n):
        # Centring before the product (not E[xx^T] - mu mu^T) avoids cancellation
        # when the mean is large against the spread.
        centred = _float64_rows(x, rows) - mean
        scatter += centred.T @ centred
    return mean, scatter / (n - 1)


def _sqrt_psd(matrix):
    """The symmetric PSD square root of a symmetric PSD matrix, via eigh (rounding negatives to 0)."""
    eigenvalues, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ vectors.T


def _trace_sqrt_product(s_a, s_b):
    """Tr((S_a S_b)^(1/2)) for symmetric PSD S_a, S_b [D, D].

    S_a S_b = R (R S_b) with R = S_a^(1/2), and R S_b R = (R S_b) R has the same
    eigenvalues (AB and BA share their spectrum). R S_b R is symmetric PSD, so
    its eigenvalues are real and >= 0, eigvalsh computes them stably, and the
    trace of the principal square root is the sum of their square roots. This
    is exact, not an approximation, and unlike scipy.linalg.sqrtm on the
    non-symmetric S_a S_b it cannot return complex parts when a covariance is
    singular (N <= D). Tiny negative eigenvalues are rounding: clipped to 0.
    """
    root = _sqrt_psd(s_a)
    product = root @ s_b @ root
    eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    return float(np.sqrt(np.clip(eigenvalues, 0.0, None)).sum())


def frechet_distance(a, b) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets: FID (Heusel et al., 2017).

    FID = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)), with mu and S
    the sample mean and (unbiased) covariance of each set, computed in float64.
    The matrix square root's trace is exact (see _trace_sqrt_product), no scipy.

    Bias: the estimate is biased upwards, by an amount roughly linear in 1 / N
    that depends on the generator (Chong & Forsyth, 2020), and is noisy when N
    is not much larger than D (S is singular for N <= D). Compare FIDs only at
    equal N (the convention is N = 50,000 against the training set) and with
    the same feature extractor.

    Args:
      a, b: float [N_a, D] and [N_b, D] features, N >= 2 each; the Ns may differ.

    Returns:
      FID in [0, inf), in squared feature units; 0 for identical moments.
      Symmetric in a and b.
    """
    a, b = _feature_pair(a, b, "a", "b", min_rows=2)
    mean_a, cov_a = _moments(a)
    mean_b, cov_b = _moments(b)
    distance = (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
                - 2.0 * _trace_sqrt_product(cov_a, cov_b))
    return max(float(distance), 0.0)  # FID >= 0; a negative value is rounding at identical moments.


# Pairwise blocks: kernels and distances without an N x N matrix.


def _dot_blocks(x, y):
    """Yields (rows, cols, x[rows] @ y[cols].T) in float64, block by block, row chunk by row chunk."""
    for rows in _chunks(len(x)):
        x_block = _float64_rows(x, rows)
        for cols in _chunks(len(y)):
            yield rows, cols, x_block @ _float64_rows(y, cols).T


def _squared_norms(x):
    """||x_i||^2 in float64: [N, D] -> [N]."""
    norms = np.zeros(len(x))
    for rows in _chunks(len(x)):
        block = _float64_rows(x, rows)
        norms[rows] = np.einsum("ij,ij->i", block, block)
    return norms


def _squared_distance_blocks(x, y):
    """Yields (rows, cols, ||x_i - y_j||^2 [rows, cols]) in float64 (see _dot_blocks)."""
    x_norms, y_norms = _squared_norms(x), _squared_norms(y)
    for rows, cols, block in _dot_blocks(x, y):
        # |x|^2 + |y|^2 - 2 x.y, in place (one block of memory, not four). It
        # can round below 0 for (near-)equal points.
        block *= -2.0
        block += x_norms[rows, None]
        block += y_norms[None, cols]
        yield rows, cols, np.maximum(block, 0.0, out=block)


# Kernel inception distance.


def _polynomial_mmd2(x, y):
    """Unbiased MMD^2 of x, y [m, D] under k(u, v) = (u.v / D + 1)^3 (Binkowski et al., 2018, eq. 2)."""
    m, dim = x.shape

    def kernel_sum(u, v):
        return sum(float(((dots / dim + 1.0) ** 3).sum()) for _, _, dots in _dot_blocks(u, v))

    def off_diagonal_sum(u):
        # The unbiased estimate leaves out k(u_i, u_i) = (|u_i|^2 / D + 1)^3.
        return kernel_sum(u, u) - float(((_squared_norms(u) / dim + 1.0) ** 3).sum())

    return ((off_diagonal_sum(x) + off_diagonal_sum(y)) / (m * (m - 1))
            - 2.0 * kernel_sum(x, y) / (m * m))


def kernel_inception_distance(a, b, num_subsets=100, subset_size=1000, seed=0):
    """KID (Binkowski et al., 2018): the squared MMD between two feature sets, cubic polynomial kernel.

    MMD^2 = E k(x, x') + E k(y, y') - 2 E k(x, y) with k(u, v) = (u.v / D + 1)^3,
    estimated without bias (the U-statistic: the k(x_i, x_i) terms are left
    out) on `num_subsets` random subsets of m = min(subset_size, N_a / 2, N_b / 2)
    samples from each set, drawn without replacement within a subset, as
    torch-fidelity and the paper's code do. (TF-GAN instead averages over
    disjoint blocks and reports a standard error, not a spread.)

    Bias: none in N, unlike FID, so KIDs at different N are comparable; the
    variance grows as m shrinks. The mean can be slightly negative when the two
    distributions are equal.

    Args:
      a, b: float [N_a, D] and [N_b, D] features, N >= 2 each.
      num_subsets: subsets to average over.
      subset_size: m, capped at half the smaller N (so subsets differ).
      seed: seed of the subsets' numpy Generator; the result is deterministic.

    Returns:
      (mean, std): python floats, the mean of the subsets' MMD^2 estimates (the
      KID, in (-inf, inf), ~0 for equal distributions) and their standard
      deviation over subsets (ddof 0, as torch-fidelity): the spread of one
      subset's estimate, not the standard error of the mean (that is
      std / sqrt(num_subsets)).
    """
    a, b = _feature_pair(a, b, "a", "b", min_rows=2)
    num_subsets = _positive_int(num_subsets, "num_subsets")
    # At most half of the smaller set: subsets of the whole set would all be the same
    # set, and their spread (the reported std) would say nothing.
    m = min(_positive_int(subset_size, "subset_size"), max(len(a) // 2, 2), max(len(b) // 2, 2))
    if m < 2:
        raise ValueError(f"subset_size must be >= 2 for the unbiased estimate, got {subset_size}.")
    rng = np.random.default_rng(seed)
    estimates = [_polynomial_mmd2(a[rng.choice(len(a), m, replace=False)],
                                  b[rng.choice(len(b), m, replace=False)]) for _ in range(num_subsets)]
    return float(np.mean(estimates)), float(np.std(estimates))


# Nearest neighbours, precision and recall.



def fid_and_kid(real_features, features) -> dict:
    """{"fid", "kid", "kid_std"} of `features` against `real_features`, [N, D] each: the scores every evaluator reports."""
    kid, kid_std = kernel_inception_distance(real_features, features)
    return {"fid": frechet_distance(real_features, features), "kid": kid, "kid_std": kid_std}

def _smallest(values, k):
    """Each row's min(k, C) smallest of values [B, C], ascending: (columns int64, values), ties to the lower column.

    k passes of argmin rather than one argpartition: for the small k of k-NN
    (1 to 10) this is several times faster, and argmin's first-occurrence rule
    makes ties deterministic. Overwrites `values`.
    """
    rows = np.arange(len(values))
    columns = np.empty((len(values), min(k, values.shape[1])), np.int64)
    smallest = np.empty(columns.shape)
    for j in range(columns.shape[1]):
        columns[:, j] = values.argmin(axis=1)
        smallest[:, j] = values[rows, columns[:, j]]
        values[rows, columns[:, j]] = np.inf
    return columns, smallest


def _nearest_squared(queries, references, k):
    """k nearest references of each query: (indices int64 [Nq, k], squared distances float64 [Nq, k]).

    Sorted by distance, then by index: the result is the same whatever the chunking.
    """
    best_i = np.full((len(queries), k), -1, np.int64)
    best_d = np.full((len(queries), k), np.inf)
    for rows, cols, d2 in _squared_distance_blocks(queries, references):
        columns, smallest = _smallest(d2, k)
        # Merge the block's k best into the running k best, by (distance, index).
        candidates_i = np.concatenate([best_i[rows], columns + cols.start], axis=1)
        candidates_d = np.concatenate([best_d[rows], smallest], axis=1)
        order = np.lexsort((candidates_i, candidates_d), axis=1)[:, :k]
        best_i[rows] = np.take_along_axis(candidates_i, order, axis=1)
        best_d[rows] = np.take_along_axis(candidates_d, order, axis=1)
    return best_i, best_d


def nearest_neighbours(queries, references, k=1):
    """The k Euclidean nearest neighbours of each query among the references.

    For the memorisation check: the nearest training image (or feature) of
    each generated one; distances near 0 flag copies. Distances are computed
    in float64 as sqrt(|q|^2 + |r|^2 - 2 q.r), block by block.

    Args:
      queries: float [Nq, D], e.g. generated images flattened to [Nq, H*W*C].
      references: float [Nr, D], e.g. the training set, Nr >= k.
      k: neighbours per query.

    Returns:
      (indices, distances): int64 [Nq, k] row indices into `references` and
      float64 [Nq, k] distances >= 0, nearest first; of references at equal
      distances, the lower index comes first.
    """
    k = _positive_int(k, "k")
    queries, references = _feature_pair(queries, references, "queries", "references", min_rows=0)
    if len(references) < k:
        raise ValueError(f"k={k} needs at least k references, got {len(references)}; lower k.")
    indices, squared = _nearest_squared(queries, references, k)
    return indices, np.sqrt(squared)


def _knn_radii2(x, k):
    """Squared distance of each x_i to its k-th nearest neighbour in x, itself excluded: [N]."""
    # Each point is its own nearest neighbour (distance 0), so its k-th
    # neighbour excluding itself is column k of its k + 1 nearest.
    return _nearest_squared(x, x, k + 1)[1][:, k]


def precision_recall(real, fake, k=3):
    """Improved precision and recall of generated samples (Kynkaanniemi et al., 2019).

    Each set approximates its manifold by the union of balls around its
    samples, each ball's radius the distance to the sample's k-th nearest
    neighbour in the same set (itself excluded):

      precision = fraction of fakes inside the real manifold  (quality)
      recall    = fraction of reals inside the fake manifold  (coverage)

    Bias: both depend on N and k (balls shrink as N grows); compare at equal N
    and k. The paper uses k = 3 and N = 50,000.

    Args:
      real: float [N_r, D] features, N_r > k.
      fake: float [N_f, D] features, N_f > k.
      k: neighbour defining the radii.

    Returns:
      (precision, recall): python floats in [0, 1]; deterministic.
    """
    k = _positive_int(k, "k")
    real, fake = _feature_pair(real, fake, "real", "fake", min_rows=k + 1)
    real_radii2, fake_radii2 = _knn_radii2(real, k), _knn_radii2(fake, k)
    fake_inside, real_inside = np.zeros(len(fake), bool), np.zeros(len(real), bool)
    # One pass over the fake-real distances serves both: along a row, is the
    # fake in some real ball; down a column, is the real in some fake ball.
    for rows, cols, d2 in _squared_distance_blocks(fake, real):
        fake_inside[rows] |= (d2 <= real_radii2[None, cols]).any(axis=1)
        real_inside[cols] |= (d2 <= fake_radii2[rows, None]).any(axis=0)
    return float(fake_inside.mean()), float(real_inside.mean())


# Classifier-based scores.


def _logsumexp(x, axis):
    """Stable log(sum(exp(x))) along axis, the axis kept (size 1)."""
    top = x.max(axis=axis, keepdims=True)
    return top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))


def _split_score(logits):
    """exp(E_x KL(p(y|x) || p(y))) of one split [n, K], in two passes over row chunks."""
    n = len(logits)

    def log_probs():  # log p(y|x) chunk by chunk: [rows, K] float64.
        for rows in _chunks(n):
            chunk = _float64_rows(logits, rows)
            yield chunk - _logsumexp(chunk, axis=1)

    # log p(y) = log mean_x p(y|x), accumulated in log space so rare classes do not underflow.
    log_marginal = np.full((1, logits.shape[1]), -np.inf)
    for lp in log_probs():
        log_marginal = np.logaddexp(log_marginal, _logsumexp(lp, axis=0))
    log_marginal -= math.log(n)
    mean_kl = sum(float((np.exp(lp) * (lp - log_marginal)).sum()) for lp in log_probs()) / n
    return math.exp(mean_kl)


def classifier_score(logits, num_splits=1) -> float:
    """The Inception score (Salimans et al., 2016) of a classifier's logits: exp(E_x KL(p(y|x) || p(y))).

    p(y|x) = softmax(logits) per sample, p(y) its mean over the split. High
    when each sample is classified confidently (low entropy p(y|x)) and the
    classes are spread evenly (high entropy p(y)). With `num_splits` > 1 the
    samples are cut into that many consecutive splits, scored separately, and
    the mean returned (the original protocol: 10 splits of 5,000).

    Bias: the estimate depends on the split size (p(y) from few samples looks
    less uniform); compare at equal N and num_splits, with the same classifier.

    Args:
      logits: float [N, K] finite classifier logits (not probabilities).
      num_splits: 1 <= num_splits <= N.

    Returns:
      A python float in [1, K]: 1 when every sample gets the same p(y|x), K
      when samples are confidently classified and spread evenly over K classes.
    """
    logits = np.asarray(logits)
    num_splits = _positive_int(num_splits, "num_splits")
    if logits.ndim != 2 or len(logits) < num_splits:
        raise ValueError(f"logits must be [N, K] with N >= num_splits = {num_splits}, got shape {logits.shape}.")
    if not np.isfinite(logits).all():
        raise ValueError("logits must be finite; pass logits, not log-probabilities with -inf.")
    bounds = np.arange(num_splits + 1) * len(logits) // num_splits  # Integer split points, sizes differ by <= 1.
    return float(np.mean([_split_score(logits[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]))


@dataclasses.dataclass(frozen=True)
class ClassCoverage:
    """How generated samples spread over a classifier's classes.

    Attributes:
      counts: int64 [K], samples predicted as each class.
      covered: classes with at least `min_count` samples, in [0, K].
      kl_to_reference: KL(q || reference) in nats, q = counts / N; 0 when the
        histogram matches the reference, log K when all samples fall in one
        class against a uniform reference, inf when q puts mass where the
        reference has none.
    """

    counts: np.ndarray
    covered: int
    kl_to_reference: float


def class_coverage(predicted_labels, num_classes, reference=None, min_count=1) -> ClassCoverage:
    """Histogram of predicted classes, the classes covered and its KL divergence to a reference.

    A mode-collapse check on labelled data (compare `toy.mode_metrics` for the
    toy mixtures): a classifier trained on the real data labels the generated
    samples, and a collapsed generator covers few classes with a skewed histogram.

    Bias: with few samples per class, empty classes and a positive KL arise by
    chance alone: N samples drawn from the reference itself give a KL of about
    (K - 1) / (2N) on average. Compare at equal N.

    Args:
      predicted_labels: int [N], N >= 1, in [0, num_classes); callers take the
        argmax of the logits.
      num_classes: K.
      reference: float [K] probability vector (>= 0, sums to 1); uniform by default.
      min_count: samples a class needs to count as covered.

    Returns:
      ClassCoverage(counts, covered, kl_to_reference).
    """
    num_classes = _positive_int(num_classes, "num_classes")
    labels = np.asarray(predicted_labels)
    if labels.ndim != 1 or not len(labels) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"predicted_labels must be a non-empty int [N] array, got {labels.dtype} {labels.shape}; "
                         "pass np.argmax(logits, axis=1).")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"predicted_labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}].")
    if reference is None:
        reference = np.full(num_classes, 1.0 / num_classes)
    reference = np.asarray(reference, np.float64)
    if reference.shape != (num_classes,) or (reference < 0).any() or not np.isclose(reference.sum(), 1.0):
        raise ValueError(f"reference must be a probability vector [{num_classes}] (>= 0, sum 1), got shape "
                         f"{reference.shape} summing to {reference.sum():.6g}.")
    counts = np.bincount(labels, minlength=num_classes)
    q = counts / len(labels)
    mask = q > 0  # 0 log 0 = 0.
    with np.errstate(divide="ignore"):  # A reference of 0 where q > 0 gives KL = inf, as it should.
        kl = float(np.sum(q[mask] * (np.log(q[mask]) - np.log(reference[mask]))))
    return ClassCoverage(counts, int((counts >= min_count).sum()), kl)


# Per-image distances to a ground truth (image-to-image translation).


def _image_pair(a, b):
    """Validates two image batches of one shape [N, H, W, C]; keeps their dtype (no copy)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 4 or a.shape != b.shape:
        raise ValueError(f"images must be two [N, H, W, C] batches of one shape, got {a.shape} and {b.shape}.")
    return a, b


def _per_image(a, b, fn):
    """fn(a01, b01) -> [n] on chunks of whole images mapped from [-1, 1] (clipped) to [0, 1] in float64: [N]."""
    a, b = _image_pair(a, b)
    rows = max(1, _PIXEL_BUDGET // max(1, math.prod(a.shape[1:])))
    values = np.zeros(len(a))
    for start in range(0, len(a), rows):
        # Clipped like data.denormalize: the image as it would be saved or shown is scored.
        a01, b01 = ((np.clip(np.asarray(x[start:start + rows], np.float64), -1.0, 1.0) + 1.0) / 2.0 for x in (a, b))
        values[start:start + rows] = fn(a01, b01)
    return values


def l1_distance(a, b) -> np.ndarray:
    """Mean absolute difference per image, in the units of [-1, 1]: pix2pix's L1 loss of each image.

    Args:
      a, b: float [N, H, W, C] images in [-1, 1] (values outside are clipped).

    Returns:
      float64 [N] in [0, 2]: 0 for identical images, 2 for black against white.
    """
    # On [0, 1], then doubled: the clipping and chunking of the others, in [-1, 1]'s units.
    return 2.0 * _per_image(a, b, lambda x, y: np.abs(x - y).mean(axis=(1, 2, 3)))


def psnr(a, b) -> np.ndarray:
    """Peak signal-to-noise ratio per image, in dB: 10 log10(R^2 / MSE), R the full data range.

    Computed on [0, 1] (R = 1), which gives the same value as [0, 255] with R = 255, the common
    definition (and tf.image.psnr's with max_val the range): PSNR depends only on the error
    relative to the range. MSE is the mean over all pixels and channels of one image.

    Args:
      a, b: float [N, H, W, C] images in [-1, 1] (values outside are clipped).

    Returns:
      float64 [N] in [0, inf]: inf for identical images; 0 when the mean squared error is the
      whole range squared (black against white); Gaussian noise of standard deviation s (of
      the range) gives about -20 log10(s).
    """
    def one(x, y):
        mse = np.square(x - y).mean(axis=(1, 2, 3))
        with np.errstate(divide="ignore"):  # MSE 0: identical images, PSNR inf.
            return -10.0 * np.log10(mse)

    return _per_image(a, b, one)


def masked_psnr(a, b, mask) -> np.ndarray:
    """`psnr` per image over the pixels where `mask` is 1 only: an inpainted hole's, the known pixels left out.

    Args:
      a, b: float [N, H, W, C] images in [-1, 1] (values outside are clipped).
      mask: float or bool [N or 1, H, W, 1], nonzero on the pixels scored (every channel of them); each
        image needs at least one.

    Returns:
      float64 [N] in [0, inf]: inf where the masked pixels are identical.
    """
    a, b = _image_pair(a, b)
    mask = np.broadcast_to(np.asarray(mask) != 0, a.shape[:3] + (1,))
    counts = mask.sum(axis=(1, 2, 3)) * a.shape[3]
    if (counts == 0).any():
        raise ValueError("masked_psnr needs at least one masked pixel in every image.")
    # b's own values on the pixels not scored: their error is 0, whatever a has there.
    squared = _per_image(np.where(mask, a, b), b, lambda x, y: np.square(x - y).sum(axis=(1, 2, 3)))
    with np.errstate(divide="ignore"):  # MSE 0: identical pixels, PSNR inf.
        return -10.0 * np.log10(squared / counts)


SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def _gaussian_window(size, sigma):
    """The normalised 1-D Gaussian [size]; its outer product with itself is SSIM's 2-D window."""
    x = np.arange(size) - (size - 1) / 2.0
    window = np.exp(-x * x / (2.0 * sigma * sigma))
    return window / window.sum()


def _gaussian_filter(x, window):
    """x [n, H, W, C] -> [n, H - k + 1, W - k + 1, C]: the 'valid' weighted means under the separable window."""
    sliding = np.lib.stride_tricks.sliding_window_view
    return sliding(sliding(x, len(window), axis=1) @ window, len(window), axis=2) @ window


def _ssim_of_chunk(x, y):
    """Mean SSIM of each image pair of [n, H, W, C] in [0, 1] (data range 1): [n]."""
    window = _gaussian_window(SSIM_WINDOW, SSIM_SIGMA)
    c1, c2 = SSIM_K1 ** 2, SSIM_K2 ** 2
    mean_x, mean_y = _gaussian_filter(x, window), _gaussian_filter(y, window)
    # Weighted (biased) local moments, as Wang et al.'s reference code and tf.image.ssim compute them.
    var_x = _gaussian_filter(x * x, window) - mean_x * mean_x
    var_y = _gaussian_filter(y * y, window) - mean_y * mean_y
    cov = _gaussian_filter(x * y, window) - mean_x * mean_y
    ssim_map = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)
                / ((mean_x * mean_x + mean_y * mean_y + c1) * (var_x + var_y + c2)))
    return ssim_map.mean(axis=(1, 2, 3))


def ssim(a, b) -> np.ndarray:
    """Structural similarity per image (Wang et al., 2004), the mean of its SSIM map over pixels and channels.

    The standard definition: an 11x11 Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, data
    range L = 1 on images mapped from [-1, 1] to [0, 1] (SSIM's luminance term is not shift
    invariant: the range's origin matters, so it is that of [0, 1] and [0, 255]), local
    means, variances and covariance weighted by the window, computed where the window fits
    ('valid', no padding), each channel separately. This is what tf.image.ssim(a01, b01,
    max_val=1.0) computes, in float64 here.

    Args:
      a, b: float [N, H, W, C] images in [-1, 1] (values outside are clipped), H and W >= 11.

    Returns:
      float64 [N] in [-1, 1]: 1 for identical images.
    """
    a, b = _image_pair(a, b)
    if min(a.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"SSIM's {SSIM_WINDOW}x{SSIM_WINDOW} window needs images of at least that size, "
                         f"got {a.shape[1]}x{a.shape[2]}.")
    return _per_image(a, b, _ssim_of_chunk)


def label_rate(predicted_labels, expected) -> float:
    """The fraction of predicted labels equal to the expected ones.

    One function for three scores of translators: a classifier's accuracy (expected: the true
    labels), label preservation (expected: the source images' labels) and the target-class
    rate (expected: the target domain's class, one int for all).

    Args:
      predicted_labels: int [N], N >= 1 (np.argmax of the logits).
      expected: int [N], or one int for every sample.

    Returns:
      A python float in [0, 1].
    """
    predicted = np.asarray(predicted_labels)
    if predicted.ndim != 1 or not len(predicted):
        raise ValueError(f"predicted_labels must be a non-empty [N] array, got shape {predicted.shape}.")
    expected = np.asarray(expected)
    if expected.ndim and expected.shape != predicted.shape:
        raise ValueError(f"expected must be one label or [N] = {predicted.shape}, got shape {expected.shape}.")
    return float(np.mean(predicted == expected))


def checkerboard_energy(images, period: int = 2) -> np.ndarray:
    """Per image, the share of its spectral energy at the harmonics of a `period`-pixel grid.

    A transposed convolution of stride 2 whose kernel does not divide evenly by 2 paints
    every other pixel from a different set of weights (Odena et al., 2016), so its artefacts
    repeat every 2 pixels: their energy sits at the spatial frequencies k H / period, l W /
    period of the DFT. For period 2 these are the three Nyquist frequencies (H/2, 0),
    (0, W/2) and (H/2, W/2): a pure 2x2 checkerboard scores 1, a smooth image about 0.
    Two stride-2 layers in a row leave 4-pixel patterns too: `period=4` counts those
    harmonics (its set contains period 2's).

    The mean is removed first (the DC term is brightness, not texture), so the share is
    of the image's contrast energy; a flat image scores 0.

    Args:
      images: float [N, H, W, C] (any range), H and W multiples of `period`.
      period: the grid's period in pixels, >= 2.

    Returns:
      float64 [N] in [0, 1], the channels' energy pooled.
    """
    images = np.asarray(images, np.float64)
    period = _positive_int(period, "period")
    if period < 2:
        raise ValueError(f"period must be >= 2 pixels, got {period}.")
    if images.ndim != 4 or images.shape[1] % period or images.shape[2] % period:
        raise ValueError(f"images must be [N, H, W, C] with H and W multiples of {period}, got {images.shape}; "
                         "crop or resize them.")
    height, width = images.shape[1:3]
    centred = images - images.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(centred, axes=(1, 2))) ** 2  # [N, H, W, C]
    on_grid = np.zeros((height, width), bool)
    on_grid[::height // period, ::width // period] = True
    on_grid[0, 0] = False  # DC: zero after centring, and not a harmonic.
    total = power.sum(axis=(1, 2, 3))
    grid = power[:, on_grid].sum(axis=(1, 2))
    return np.divide(grid, total, out=np.zeros_like(total), where=total > 0)
