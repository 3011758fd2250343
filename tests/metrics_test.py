"""Sample-quality metrics against closed forms, brute force and constructed cases."""

import math
import tracemalloc
from unittest import mock

import numpy as np
import tensorflow as tf

from tfgan_course import metrics


def _small_chunks(size=7):
    """Forces blocks of `size` rows and columns, so small inputs span many chunks."""
    return mock.patch.object(metrics, "_CHUNK_SIZE", size)


def _closed_form_fid(mean_a, cov_a, mean_b, cov_b):
    """FID from moments by another route than metrics': eigenvalues of the non-symmetric S_a S_b."""
    eigenvalues = np.linalg.eigvals(cov_a @ cov_b).real  # Real and >= 0 (similar to a PSD matrix).
    return (np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b)
            - 2 * np.sqrt(np.clip(eigenvalues, 0, None)).sum())


def _hadamard(n):
    """Sylvester's n x n Hadamard matrix (n a power of 2): +-1 entries, orthogonal columns."""
    matrix = np.ones((1, 1))
    while len(matrix) < n:
        matrix = np.block([[matrix, matrix], [matrix, -matrix]])
    return matrix


class FrechetDistanceTest(tf.test.TestCase):

    def setUp(self):
        super().setUp()
        # Non-diagonal covariances A A^T and B B^T, different means.
        self.mean_a, self.mean_b = np.zeros(4), np.array([1.0, -0.5, 0.25, 0.0])
        self.factor_a = np.array([[1.0, 0, 0, 0], [0.5, 1.0, 0, 0], [0.2, -0.3, 0.8, 0], [0, 0.4, 0.1, 0.5]])
        self.factor_b = np.array([[1.5, 0, 0, 0], [0, 0.7, 0, 0], [-0.4, 0.2, 1.0, 0], [0.3, 0, 0, 1.2]])

    def _gaussians(self, n, seed=0):
        rng = np.random.default_rng(seed)
        return (rng.normal(size=(n, 4)) @ self.factor_a.T + self.mean_a,
                rng.normal(size=(n, 4)) @ self.factor_b.T + self.mean_b)

    def test_a_set_against_itself_is_zero(self):
        features = np.random.default_rng(0).normal(5.0, 3.0, size=(2000, 16))
        scale = np.trace(np.cov(features.T))  # ~16 * 9: FID's units are squared features.
        self.assertBetween(metrics.frechet_distance(features, features), 0.0, 1e-6 * scale)

    def test_diagonal_covariances_match_the_commuting_formula(self):
        # Columns 1-4 of a Hadamard matrix are centred and orthogonal, so the
        # sample covariances are exactly diagonal, diag(scale^2 * 8 / 7), and
        # FID = ||mu_a - mu_b||^2 + sum (sqrt(s_a) - sqrt(s_b))^2 holds to rounding.
        design = _hadamard(8)
        scale_a, scale_b = np.array([1.0, 2.0, 0.5, 3.0]), np.array([2.0, 2.0, 1.5, 0.1])
        a = np.array([1.0, 2.0, 3.0, 4.0]) + design[:, 1:5] * scale_a
        b = np.array([0.0, 2.5, 3.0, -1.0]) + design[:, 4:8] * scale_b
        variance_a, variance_b = scale_a ** 2 * 8 / 7, scale_b ** 2 * 8 / 7
        expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.sum((np.sqrt(variance_a) - np.sqrt(variance_b)) ** 2)
        self.assertAllClose(metrics.frechet_distance(a, b), expected, rtol=1e-12, atol=0)

    def test_sample_moments_match_the_closed_form(self):
        a, b = self._gaussians(500)
        expected = _closed_form_fid(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T))
        self.assertAllClose(metrics.frechet_distance(a, b), expected, rtol=1e-10, atol=0)

    def test_large_samples_match_the_true_parameters(self):
        a, b = self._gaussians(20_000)
        cov_a, cov_b = self.factor_a @ self.factor_a.T, self.factor_b @ self.factor_b.T
        expected = _closed_form_fid(self.mean_a, cov_a, self.mean_b, cov_b)  # 2.77.
        # The sampling error is dominated by the mean term, 2 (mu_a - mu_b).e with
        # e ~ N(0, (S_a + S_b) / N): std 2 sqrt(dmu^T (S_a + S_b) dmu / N) = 0.025
        # (over 40 seeds the error's std was 0.026, its largest 0.063); 5 std.
        difference = self.mean_a - self.mean_b
        std = 2 * math.sqrt(difference @ (cov_a + cov_b) @ difference / len(a))
        self.assertNear(metrics.frechet_distance(a, b), expected, 5 * std)

    def test_symmetric_chunked_and_float32(self):
        a, b = self._gaussians(300)
        b = b[:200]  # Unequal N.
        fid = metrics.frechet_distance(a, b)
        self.assertAllClose(metrics.frechet_distance(b, a), fid, rtol=1e-10, atol=0)
        with _small_chunks():
            self.assertAllClose(metrics.frechet_distance(a, b), fid, rtol=1e-10, atol=0)
        # float32 inputs are moved to float64 before any sum: only their own rounding remains.
        self.assertAllClose(metrics.frechet_distance(a.astype(np.float32), b.astype(np.float32)), fid, rtol=1e-5)

    def test_singular_covariances(self):
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(5, 8)), rng.normal(size=(6, 8))  # N <= D: rank-deficient S.
        fid = metrics.frechet_distance(a, b)
        self.assertTrue(np.isfinite(fid))
        self.assertAllClose(fid, _closed_form_fid(a.mean(0), np.cov(a.T), b.mean(0), np.cov(b.T)), rtol=1e-6)

    def test_bad_shapes(self):
        with self.assertRaisesRegex(ValueError, r"a must be a 2-D \[N, D\] feature array, got shape \(5,\)"):
            metrics.frechet_distance(np.zeros(5), np.zeros((5, 1)))
        with self.assertRaisesRegex(ValueError, "same feature size D, got 4 and 5"):
            metrics.frechet_distance(np.zeros((5, 4)), np.zeros((5, 5)))
        with self.assertRaisesRegex(ValueError, "b needs at least 2 samples, got 1"):
            metrics.frechet_distance(np.zeros((5, 4)), np.zeros((1, 4)))


def _direct_mmd2(x, y):
    """The unbiased cubic-kernel MMD^2 with whole kernel matrices (small x, y only)."""
    m, dim = x.shape

    def kernel(u, v):
        return (u @ v.T / dim + 1) ** 3

    k_xx, k_yy = kernel(x, x), kernel(y, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return within - 2 * kernel(x, y).mean()


class KernelInceptionDistanceTest(tf.test.TestCase):

    def test_equal_distributions(self):
        rng = np.random.default_rng(0)
        a, b = rng.normal(size=(1000, 16)), rng.normal(size=(1000, 16))
        mean, std = metrics.kernel_inception_distance(a, b, num_subsets=50, subset_size=200)
        self.assertGreater(std, 0.0)
        self.assertLess(abs(mean), 3 * std)
        self.assertLess(abs(mean), 0.01)
        shifted_mean, shifted_std = metrics.kernel_inception_distance(a, b + 1.0, num_subsets=50, subset_size=200)
        self.assertGreater(shifted_mean, 0.5)
        self.assertGreater(shifted_mean, 5 * shifted_std)

    def test_matches_the_direct_estimate(self):
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(60, 5)), rng.normal(0.3, 1.2, size=(50, 5))
        # One subset of min(N_a / 2, N_b / 2) = 25 samples.
        subset = np.random.default_rng(3)
        expected = _direct_mmd2(a[subset.choice(60, 25, replace=False)], b[subset.choice(50, 25, replace=False)])
        self.assertAllClose(metrics.kernel_inception_distance(a, b, num_subsets=1, seed=3), (expected, 0.0))
        with _small_chunks():
            self.assertAllClose(metrics.kernel_inception_distance(a, b, num_subsets=1, seed=3), (expected, 0.0))

    def test_deterministic(self):
        rng = np.random.default_rng(2)
        a, b = rng.normal(size=(100, 4)), rng.normal(size=(100, 4))
        first = metrics.kernel_inception_distance(a, b, num_subsets=5, subset_size=30, seed=7)
        self.assertEqual(metrics.kernel_inception_distance(a, b, num_subsets=5, subset_size=30, seed=7), first)
        self.assertNotEqual(metrics.kernel_inception_distance(a, b, num_subsets=5, subset_size=30, seed=8), first)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "subset_size must be >= 2"):
            metrics.kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), subset_size=1)
        with self.assertRaisesRegex(ValueError, "num_subsets must be a positive integer"):
            metrics.kernel_inception_distance(np.zeros((5, 2)), np.zeros((5, 2)), num_subsets=0)


class PrecisionRecallTest(tf.test.TestCase):

    def test_identical_sets(self):
        real = np.random.default_rng(0).normal(size=(500, 8))
        self.assertEqual(metrics.precision_recall(real, real), (1.0, 1.0))

    def test_far_away_fakes(self):
        rng = np.random.default_rng(0)
        real = rng.normal(size=(500, 8))
        self.assertEqual(metrics.precision_recall(real, rng.normal(size=(400, 8)) + 100.0), (0.0, 0.0))

    def test_half_the_modes(self):
        rng = np.random.default_rng(0)
        real = np.concatenate([rng.normal(size=(1000, 2)), rng.normal(size=(1000, 2)) + 20.0])
        fake = rng.normal(size=(2000, 2))  # Only the first cluster.
        precision, recall = metrics.precision_recall(real, fake)
        # Even a perfect fake misses the real balls in the tails: over 5 seeds a
        # same-distribution precision of 0.966-0.986 and recall of 0.486-0.494 here.
        self.assertGreater(precision, 0.95)
        self.assertNear(recall, 0.5, 0.03)
        with _small_chunks(64):
            self.assertEqual(metrics.precision_recall(real, fake), (precision, recall))

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "fake needs at least 4 samples, got 3"):
            metrics.precision_recall(np.zeros((10, 2)), np.zeros((3, 2)), k=3)
        with self.assertRaisesRegex(ValueError, "same feature size D"):
            metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))


class NearestNeighboursTest(tf.test.TestCase):

    def test_matches_brute_force(self):
        rng = np.random.default_rng(0)
        queries, references = rng.normal(size=(37, 5)), rng.normal(size=(53, 5))
        distances = np.linalg.norm(queries[:, None, :] - references[None, :, :], axis=2)
        expected = np.argsort(distances, axis=1)[:, :4]
        indices, found = metrics.nearest_neighbours(queries, references, k=4)
        self.assertAllEqual(indices, expected)
        self.assertAllClose(found, np.take_along_axis(distances, expected, axis=1), rtol=0, atol=1e-10)
        with _small_chunks():  # 6 x 8 blocks, each smaller than k on its last column.
            chunked = metrics.nearest_neighbours(queries, references, k=4)
        self.assertAllEqual(chunked[0], indices)
        self.assertAllClose(chunked[1], found, rtol=1e-12, atol=1e-12)

    def test_each_point_is_its_own_nearest(self):
        points = np.random.default_rng(1).normal(size=(100, 3)).astype(np.float32)
        indices, distances = metrics.nearest_neighbours(points, points)
        self.assertAllEqual(indices[:, 0], np.arange(100))
        self.assertAllClose(distances, np.zeros((100, 1)), atol=1e-6)

    def test_ties_go_to_the_lower_index(self):
        references = np.array([[1.0], [0.0], [1.0], [0.0], [-1.0]])
        for chunk in (1, 2, 5):
            with _small_chunks(chunk):
                indices, distances = metrics.nearest_neighbours(np.zeros((1, 1)), references, k=4)
            self.assertAllEqual(indices, [[1, 3, 0, 2]])
            self.assertAllClose(distances, [[0.0, 0.0, 1.0, 1.0]])

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "k=4 needs at least k references, got 3"):
            metrics.nearest_neighbours(np.zeros((2, 2)), np.zeros((3, 2)), k=4)
        with self.assertRaisesRegex(ValueError, r"queries must be a 2-D \[N, D\]"):
            metrics.nearest_neighbours(np.zeros((2, 2, 2)), np.zeros((3, 2)))

    def test_memory_stays_in_blocks(self):
        # An N x N float64 matrix would be N^2 * 8 bytes (122 MiB for N = 4,000,
        # 305 MiB for 10,000 x 4,000); blocks are 8 MiB, and the peak was 18 MiB.
        # numpy reports its allocations to tracemalloc. (Sizes kept small for
        # time: about 2 s on 2 busy cores.)
        rng = np.random.default_rng(0)
        real = rng.normal(size=(4000, 64)).astype(np.float32)
        fake = rng.normal(size=(4000, 64)).astype(np.float32)
        queries = rng.normal(size=(10_000, 64)).astype(np.float32)
        tracemalloc.start()
        try:
            precision, recall = metrics.precision_recall(real, fake)
            indices, _ = metrics.nearest_neighbours(queries, real)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 32 * 2 ** 20)
        self.assertBetween(precision, 0.5, 1.0)
        self.assertBetween(recall, 0.5, 1.0)
        self.assertEqual(indices.shape, (10_000, 1))


class ClassifierScoreTest(tf.test.TestCase):

    def test_confident_and_evenly_spread_is_k(self):
        one_hot = np.eye(10)[np.arange(1000) % 10]
        self.assertNear(metrics.classifier_score(50.0 * one_hot), 10.0, 1e-9)
        # Stable log-softmax: logits of 1e4 neither overflow nor change the answer.
        self.assertNear(metrics.classifier_score(1e4 * one_hot, num_splits=4), 10.0, 1e-9)

    def test_one_class_or_no_confidence_is_one(self):
        self.assertNear(metrics.classifier_score(50.0 * np.eye(10)[np.full(100, 3)]), 1.0, 1e-9)
        self.assertNear(metrics.classifier_score(np.zeros((100, 10))), 1.0, 1e-9)

    def test_matches_the_definition(self):
        logits = np.random.default_rng(0).normal(0.0, 3.0, size=(90, 6))

        def score(split):
            p = np.exp(split) / np.exp(split).sum(axis=1, keepdims=True)
            return np.exp(np.mean(np.sum(p * np.log(p / p.mean(axis=0)), axis=1)))

        self.assertAllClose(metrics.classifier_score(logits), score(logits))
        expected = np.mean([score(split) for split in np.split(logits, 3)])
        self.assertAllClose(metrics.classifier_score(logits, num_splits=3), expected)
        with _small_chunks():
            self.assertAllClose(metrics.classifier_score(logits, num_splits=3), expected)
        self.assertBetween(metrics.classifier_score(logits), 1.0, 6.0)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "must be finite"):
            metrics.classifier_score(np.array([[0.0, -np.inf]]))
        with self.assertRaisesRegex(ValueError, r"N >= num_splits = 3, got shape \(2, 4\)"):
            metrics.classifier_score(np.zeros((2, 4)), num_splits=3)


class ClassCoverageTest(tf.test.TestCase):

    def test_uniform(self):
        coverage = metrics.class_coverage(np.arange(30) % 10, 10)
        self.assertAllEqual(coverage.counts, np.full(10, 3))
        self.assertEqual(coverage.covered, 10)
        self.assertNear(coverage.kl_to_reference, 0.0, 1e-12)

    def test_one_class(self):
        coverage = metrics.class_coverage(np.full(50, 7), 10)
        self.assertAllEqual(coverage.counts, 50 * np.eye(10)[7])
        self.assertEqual(coverage.covered, 1)
        self.assertNear(coverage.kl_to_reference, math.log(10), 1e-12)

    def test_min_count_and_reference(self):
        labels = np.array([0, 0, 0, 1, 2, 2])
        self.assertEqual(metrics.class_coverage(labels, 4).covered, 3)
        self.assertEqual(metrics.class_coverage(labels, 4, min_count=2).covered, 2)
        matching = metrics.class_coverage(labels, 4, reference=[0.5, 1 / 6, 1 / 3, 0.0])
        self.assertNear(matching.kl_to_reference, 0.0, 1e-12)
        q = np.array([0.5, 1 / 6, 1 / 3])
        expected = np.sum(q * np.log(q / [0.25, 0.25, 0.25]))
        self.assertNear(metrics.class_coverage(labels, 4).kl_to_reference, expected, 1e-12)
        self.assertEqual(metrics.class_coverage(labels, 4, reference=[0.5, 0.5, 0, 0]).kl_to_reference, np.inf)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"non-empty int \[N\] array.*np.argmax\(logits, axis=1\)"):
            metrics.class_coverage(np.zeros((4, 10)), 10)
        with self.assertRaisesRegex(ValueError, r"must lie in \[0, 3\), got \[0, 3\]"):
            metrics.class_coverage(np.array([0, 3]), 3)
        with self.assertRaisesRegex(ValueError, r"probability vector \[3\]"):
            metrics.class_coverage(np.array([0, 1]), 3, reference=[0.5, 0.5, 0.5])


class CheckerboardEnergyTest(tf.test.TestCase):

    def test_any_two_by_two_tiling_is_all_on_the_grid(self):
        rng = np.random.default_rng(0)
        tiles = rng.normal(size=(3, 2, 2, 2))
        self.assertAllClose(metrics.checkerboard_energy(np.tile(tiles, (1, 4, 8, 1))), np.ones(3))
        # A 4-pixel pattern is off period 2's grid (in part) but all on period 4's.
        stripes = np.tile(np.array([1.0, 1.0, -1.0, -1.0])[None, None, :, None], (1, 8, 2, 1))
        self.assertAllClose(metrics.checkerboard_energy(stripes), [0.0])
        self.assertAllClose(metrics.checkerboard_energy(stripes, period=4), [1.0])

    def test_smooth_images_score_zero_and_white_noise_its_share_of_frequencies(self):
        ramp = np.sin(np.linspace(0, np.pi, 16))[None, :, None, None] * np.ones((1, 16, 16, 1))
        self.assertAllClose(metrics.checkerboard_energy(ramp), [0.0], atol=1e-12)
        self.assertAllClose(metrics.checkerboard_energy(np.full((2, 4, 4, 3), 0.7)), [0.0, 0.0])
        noise = np.random.default_rng(1).normal(size=(400, 16, 16, 1))
        # 3 of the 255 non-DC frequencies of a 16x16 image; 15 for period 4.
        self.assertAllClose(np.mean(metrics.checkerboard_energy(noise)), 3 / 255, rtol=0.1)
        self.assertAllClose(np.mean(metrics.checkerboard_energy(noise, period=4)), 15 / 255, rtol=0.1)

    def test_grows_with_an_added_checkerboard(self):
        image = np.sin(np.linspace(0, 3, 16))[None, :, None, None] * np.ones((1, 16, 16, 1))
        board = (np.indices((16, 16)).sum(axis=0) % 2 * 2 - 1.0)[None, :, :, None]
        shares = [metrics.checkerboard_energy(image + a * board)[0] for a in (0.0, 0.05, 0.2)]
        self.assertAllEqual(np.argsort(shares), [0, 1, 2])

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "multiples of 2"):
            metrics.checkerboard_energy(np.zeros((1, 5, 4, 1)))
        with self.assertRaisesRegex(ValueError, r"\[N, H, W, C\]"):
            metrics.checkerboard_energy(np.zeros((4, 4)))
        with self.assertRaisesRegex(ValueError, "period"):
            metrics.checkerboard_energy(np.zeros((1, 4, 4, 1)), period=1)


if __name__ == "__main__":
    tf.test.main()


def _images(shape, seed=0):
    """Smooth-ish random images [N, H, W, C] in [-1, 1]: uniform noise, blurred by a 3x3 box."""
    noise = np.random.default_rng(seed).uniform(-1, 1, shape)
    padded = np.pad(noise, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="edge")
    return sum(padded[:, i:i + shape[1], j:j + shape[2]] for i in range(3) for j in range(3)) / 9


class ImageDistanceTest(tf.test.TestCase):

    def test_identical_images_score_perfectly(self):
        images = _images((3, 16, 16, 2))
        self.assertAllEqual(metrics.l1_distance(images, images), [0, 0, 0])
        self.assertAllEqual(metrics.psnr(images, images), [np.inf] * 3)
        self.assertAllClose(metrics.ssim(images, images), [1, 1, 1], atol=1e-12)

    def test_l1_and_psnr_of_known_errors(self):
        black, white = -np.ones((1, 12, 12, 1)), np.ones((1, 12, 12, 1))
        self.assertAllEqual(metrics.l1_distance(black, white), [2.0])
        self.assertAllEqual(metrics.psnr(black, white), [0.0])
        # An error of +-0.1 of the range everywhere: MSE 0.01, PSNR 20 dB; in [-1, 1] that is +-0.2.
        grey = np.zeros((2, 12, 12, 3))
        signs = np.where(np.arange(2 * 12 * 12 * 3).reshape(grey.shape) % 2, 1.0, -1.0)
        self.assertAllClose(metrics.psnr(grey, grey + 0.2 * signs), [20.0, 20.0])
        self.assertAllClose(metrics.l1_distance(grey, grey + 0.2 * signs), [0.2, 0.2])
        # Gaussian noise of sigma 5 / 255 of the range: about 34.2 dB (20 log10(255 / 5)).
        flat = np.zeros((2, 64, 64, 3))
        noisy = flat + 2 * np.random.default_rng(0).normal(0, 5 / 255, flat.shape)
        self.assertAllClose(metrics.psnr(flat, noisy), [20 * math.log10(255 / 5)] * 2, atol=0.1)
        # Values outside [-1, 1] are clipped: 3 scores as 1.
        self.assertAllEqual(metrics.l1_distance(white * 3, white), [0.0])

    def test_psnr_matches_tf_image_psnr(self):
        a, b = _images((4, 12, 12, 3), seed=1), _images((4, 12, 12, 3), seed=2)
        expected = tf.image.psnr((a + 1) / 2, (b + 1) / 2, max_val=1.0).numpy()
        self.assertAllClose(metrics.psnr(a, b), expected, rtol=1e-6)

    def test_ssim_matches_tf_image_ssim(self):
        a = _images((4, 20, 17, 3), seed=1)
        b = np.clip(a + np.random.default_rng(3).normal(0, 0.3, a.shape), -1, 1)
        expected = tf.image.ssim(tf.constant((a + 1) / 2), tf.constant((b + 1) / 2), max_val=1.0).numpy()
        self.assertAllClose(metrics.ssim(a, b), expected, atol=1e-6)
        self.assertBetween(float(expected.mean()), 0.1, 0.9)  # Neither trivial end.
        with mock.patch.object(metrics, "_PIXEL_BUDGET", 1):  # One image per chunk.
            self.assertAllClose(metrics.ssim(a, b), expected, atol=1e-6)

    def test_ssim_of_flat_images_is_the_luminance_term(self):
        # No variance anywhere: SSIM = (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1), by hand.
        a, b = np.full((1, 11, 11, 1), -0.5), np.full((1, 11, 11, 1), 0.5)  # 0.25 and 0.75 on [0, 1]
        c1 = 0.01 ** 2
        self.assertAllClose(metrics.ssim(a, b), [(2 * 0.25 * 0.75 + c1) / (0.25 ** 2 + 0.75 ** 2 + c1)])
        # An image against its negative (about its mean) is anti-correlated: SSIM < 0.
        images = _images((2, 16, 16, 1), seed=4)
        self.assertAllLess(metrics.ssim(images, -images), 0.0)

    def test_bad_images(self):
        with self.assertRaisesRegex(ValueError, "two \\[N, H, W, C\\] batches of one shape"):
            metrics.psnr(np.zeros((2, 12, 12, 1)), np.zeros((2, 12, 12, 3)))
        with self.assertRaisesRegex(ValueError, "at least that size, got 10x12"):
            metrics.ssim(np.zeros((1, 10, 12, 1)), np.zeros((1, 10, 12, 1)))

    def test_label_rate(self):
        self.assertEqual(metrics.label_rate([1, 2, 3, 3], [1, 2, 0, 3]), 0.75)
        self.assertEqual(metrics.label_rate([9, 9, 7, 9], 9), 0.75)
        with self.assertRaisesRegex(ValueError, "one label or \\[N\\]"):
            metrics.label_rate([1, 2], [1, 2, 3])
