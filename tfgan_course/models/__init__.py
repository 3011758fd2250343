"""Generator/discriminator pairs by name: `build("dcgan", ...)` -> (generator, discriminator).

Every family module has `generator(...)` and `discriminator(...)` returning
plain functional `keras.Model`s: the generator maps `z` float32
[B, latent_dim] to images [B, H, W, C] in [-1, 1] (tanh), the discriminator
maps images to logits [B, 1] (no sigmoid: the losses apply it stably).
"""

from tfgan_course.models import dcgan, mlp, toy

MODELS = {
    "mlp": mlp,
    "dcgan": dcgan,
    "toy": toy,
}


def build(name: str, *, image_shape, latent_dim: int, g_width: int = 0, d_width: int = 0, seed=None):
    """Builds the generator and discriminator registered as `name`.

    Args:
      name: a key of `MODELS`.
      image_shape: (H, W, C) of the images.
      latent_dim: size of z.
      g_width, d_width: the family's width (ngf/ndf, hidden units); 0 = the lecture's value.
      seed: int seed for the weight initialisers (None = random).

    Returns:
      (generator, discriminator) keras.Models.
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}.")
    family = MODELS[name]
    image_shape = tuple(int(d) for d in image_shape)
    g_width = g_width or family.DEFAULT_WIDTH
    d_width = d_width or family.DEFAULT_WIDTH
    generator = family.generator(image_shape, latent_dim, g_width, seed=seed)
    discriminator = family.discriminator(image_shape, d_width, seed=None if seed is None else seed + 1)
    return generator, discriminator
