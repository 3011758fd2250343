"""Latent-space math: lerp/slerp, concept vectors and arithmetic, exploration grids and their directions."""

import numpy as np
import tensorflow as tf

from tfgan_course import latent


class InterpolationTest(tf.test.TestCase):

    def test_slerp_keeps_the_norm_on_an_arc_and_hits_the_ends(self):
        start, end = np.array([[3.0, 0.0]], np.float32), np.array([[0.0, 3.0]], np.float32)
        path = latent.slerp(start, end, np.linspace(0, 1, 5, dtype=np.float32)).numpy()[0]
        self.assertAllClose(path[0], start[0])
        self.assertAllClose(path[-1], end[0], atol=1e-6)
        self.assertAllClose(np.linalg.norm(path, axis=1), np.full(5, 3.0), atol=1e-5)
        self.assertAllClose(path[2], [3 / np.sqrt(2), 3 / np.sqrt(2)], atol=1e-5)
        lerp_middle = latent.lerp(start, end, np.array([0.5], np.float32)).numpy()[0, 0]
        self.assertAllClose(lerp_middle, [1.5, 1.5])

    def test_slerp_of_parallel_vectors_is_finite(self):
        start = np.array([[1.0, 2.0]], np.float32)
        path = latent.slerp(start, 2 * start, np.array([0.0, 0.5, 1.0], np.float32)).numpy()[0]
        self.assertAllClose(path, [[1.0, 2.0], [1.5, 3.0], [2.0, 4.0]], atol=1e-5)

    def test_a_path_per_row(self):
        start = np.array([[0.0, 0.0], [1.0, 1.0]], np.float32)
        end = np.array([[4.0, 0.0], [1.0, 5.0]], np.float32)
        path = latent.interpolate("lerp", start, end, np.array([0.0, 0.25, 1.0], np.float32)).numpy()
        self.assertEqual(path.shape, (2, 3, 2))
        self.assertAllClose(path[0], [[0.0, 0.0], [1.0, 0.0], [4.0, 0.0]])
        self.assertAllClose(path[1], [[1.0, 1.0], [1.0, 2.0], [1.0, 5.0]])

    def test_unknown_interpolation(self):
        with self.assertRaisesRegex(ValueError, "valid values: slerp, lerp"):
            latent.interpolate("cubic", [[0.0]], [[1.0]], [0.5])


class ArithmeticTest(tf.test.TestCase):

    def test_concepts_are_averaged_then_combined(self):
        a = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)  # mean (2, 3)
        b = np.array([[1.0, 1.0]], np.float32)  # mean (1, 1)
        c = np.array([[0.0, 2.0], [2.0, 0.0], [4.0, 4.0]], np.float32)  # mean (2, 2)
        self.assertAllEqual(latent.concept_vector(a), [2.0, 3.0])
        self.assertAllEqual(latent.arithmetic(a, b, c), [3.0, 4.0])
        # Order matters: b is the one subtracted.
        self.assertAllEqual(latent.arithmetic(b, a, c), [1.0, 0.0])

    def test_bad_concepts(self):
        with self.assertRaisesRegex(ValueError, "N >= 1"):
            latent.concept_vector(np.zeros([0, 4]))
        with self.assertRaisesRegex(ValueError, r"shape \[N, D\]"):
            latent.concept_vector(np.zeros([4]))
        with self.assertRaisesRegex(ValueError, "differ in size: 2, 3 and 2"):
            latent.arithmetic(np.zeros([1, 2]), np.zeros([1, 3]), np.zeros([1, 2]))


class ExplorationGridTest(tf.test.TestCase):

    def test_only_the_chosen_dims_move_by_the_span(self):
        center = np.random.RandomState(0).normal(size=6).astype(np.float32)
        zs = latent.exploration_grid(center, latent.axis_directions([4, 1], 6), span=1.5, steps=5)
        self.assertEqual(zs.shape, (5, 5, 6))
        self.assertEqual(zs.dtype, np.float32)
        offsets = zs - center
        self.assertAllEqual(offsets[..., [0, 2, 3, 5]], np.zeros([5, 5, 4]))
        steps = np.array([-1.5, -0.75, 0.0, 0.75, 1.5], np.float32)
        self.assertAllClose(offsets[..., 4], np.repeat(steps[:, None], 5, axis=1))  # rows: the first dim
        self.assertAllClose(offsets[..., 1], np.repeat(steps[None, :], 5, axis=0))  # columns: the second
        self.assertAllEqual(zs[2, 2], center)

    def test_random_directions_are_orthonormal_and_seeded(self):
        directions = latent.random_directions(8, seed=3)
        self.assertEqual(directions.shape, (2, 8))
        self.assertAllClose(directions @ directions.T, np.eye(2), atol=1e-6)
        self.assertAllEqual(directions, latent.random_directions(8, seed=3))
        self.assertNotAllClose(directions, latent.random_directions(8, seed=4))
        # Every coordinate moves: unlike axis directions, a random one mixes them all.
        self.assertTrue(np.all(directions != 0))
        center = np.zeros(8, np.float32)
        zs = latent.exploration_grid(center, directions, span=2.0, steps=3)
        self.assertAllClose(zs[0, 2] @ directions.T, [-2.0, 2.0], atol=1e-6)

    def test_bad_grids(self):
        for dims, message in (([0, 8], r"out of range: z has 8 dimensions, 0..7"), ([-1, 2], "out of range"),
                              ([3, 3], "two distinct"), ([1], "two distinct"), ([0, 1, 2], "two distinct")):
            with self.assertRaisesRegex(ValueError, message):
                latent.axis_directions(dims, 8)
        with self.assertRaisesRegex(ValueError, "2 or more dimensions"):
            latent.random_directions(1)
        with self.assertRaisesRegex(ValueError, r"center \[D\] and directions \[2, D\]"):
            latent.exploration_grid(np.zeros(4), np.zeros([2, 5]))
        with self.assertRaisesRegex(ValueError, "steps >= 2 and span > 0"):
            latent.exploration_grid(np.zeros(4), latent.axis_directions([0, 1], 4), steps=1)


class SeededZTest(tf.test.TestCase):

    def test_each_row_is_what_generate_draws_for_its_seed(self):
        for distribution, draw in (("normal", tf.random.stateless_normal), ("uniform", tf.random.stateless_uniform)):
            with self.subTest(distribution):
                z = latent.seeded_z([3, 7, 3], 8, distribution)
                self.assertEqual(z.shape, (3, 8))
                for row, seed in enumerate((3, 7, 3)):
                    self.assertAllEqual(z[row], draw([1, 8], seed=[seed, 0])[0])  # gan.GAN._seeded_z(1, seed)
                self.assertNotAllEqual(z[0], z[1])

    def test_works_inside_a_tf_function(self):
        traced = tf.function(lambda seeds: latent.seeded_z(seeds, 4),
                             input_signature=[tf.TensorSpec([None], tf.int64)])
        self.assertAllEqual(traced(tf.constant([5, 6], tf.int64)), latent.seeded_z([5, 6], 4))

if __name__ == "__main__":
    tf.test.main()
