"""The GAN variants beyond the base `gan.GAN`, one module each; `variants.VARIANTS` is their registry.

  conditional.py  ConditionalGAN: G(z, y), D(x, y)
  infogan.py      InfoGAN: latent codes recovered by a Q head
  began.py        BEGAN: an autoencoder D and the k_t balance
  unrolled.py     the unrolled GAN's lookahead, used by every variant with unrolled_steps > 0
"""
