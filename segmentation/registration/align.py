"""Feature-based registration of two photos of one body site.

Method (sizes are fractions of the image, so the result does not depend on resolution):

1. Each photo is reduced to a grey copy whose longer side is ``working_size`` pixels, its
   contrast stretched between the 1st and 99th percentiles (a brighter or darker photo day
   gives the same descriptors), and ORB keypoints and binary descriptors are extracted.
2. Keypoints are kept only on skin: the documented skin colour rule (``severity.skin``) united
   with the lesion mask (pale lesions fail the rule), slightly dilated. Background, clothes and
   furniture move independently of the body and would pull the fit towards themselves.
3. Descriptors are matched both ways (cross-check) with Lowe's ratio test; RANSAC fits a
   similarity transform (2 points per sample: converges with few inliers), which seeds an
   iterated least-squares projective fit on the points it explains (mild perspective).
4. The result is ``aligned`` only if enough matches agree (count and share), their residual is
   small, they are spread over the photo (not one corner) and the transform is plausible
   (convex, scale within bounds, the two photos overlap). Otherwise it is refused with the
   reason: a wrong warp is worse than none.

The transform maps the reference photo's full-resolution pixel coordinates (x, y) to the moving
photo's, as a 3x3 matrix: exactly the inverse map that ``skimage.transform.warp`` needs to bring
the moving photo into the reference's frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.feature import ORB, match_descriptors
from skimage.measure import ransac
from skimage.transform import SimilarityTransform

from segmentation.severity._checks import check_image, check_mask
from segmentation.severity.skin import skin_mask

from .geometry import (
    apply_matrix,
    fit_projective,
    frame_overlap,
    hull_area,
    maps_convex,
    transform_scale,
)

__all__ = [
    "AlignmentConfig",
    "AlignmentResult",
    "ImageFeatures",
    "align_features",
    "align_images",
    "image_features",
]


@dataclass(frozen=True)
class AlignmentConfig:
    """Thresholds in working-size pixels (the longer side is ``working_size``)."""

    working_size: int = 512
    n_keypoints: int = 1000
    fast_threshold: float = 0.05
    max_ratio: float = 0.85  # Lowe's ratio test
    ransac_threshold: float = 4.0  # similarity inliers
    refine_threshold: float = 2.5  # projective inliers, after refinement
    max_trials: int = 1000
    min_inliers: int = 20
    min_inlier_share: float = 0.15  # of the cross-checked matches
    max_rms_error: float = 1.6
    min_spread: float = 0.05  # convex hull of the inliers, share of the reference's area
    min_overlap: float = 0.25  # share of the reference's frame the moving photo covers
    min_scale: float = 0.5
    max_scale: float = 2.0
    skin_dilation: float = 0.02  # share of the longer side
    min_skin_share: float = 0.05  # below this the skin rule is ignored (the photo is not skin)
    seed: int = 0


@dataclass(frozen=True)
class ImageFeatures:
    """ORB keypoints (x, y) in working-size pixels, their descriptors, and the photo's size."""

    keypoints: np.ndarray
    descriptors: np.ndarray
    scale: float  # working size / full resolution
    shape: tuple[int, int]  # full-resolution (H, W)
    restricted_to_skin: bool

    @property
    def frame(self) -> tuple[float, float]:
        """(H, W) at the working size, where keypoints live."""
        return self.shape[0] * self.scale, self.shape[1] * self.scale


@dataclass(frozen=True)
class AlignmentResult:
    aligned: bool
    reason: str
    matrix: np.ndarray | None  # 3x3, reference (x, y) -> moving (x, y), full resolution
    n_matches: int
    n_inliers: int
    rms_error_px: float | None  # inliers' residual in the reference's full-resolution pixels
    overlap: float | None
    reference_shape: tuple[int, int]
    moving_shape: tuple[int, int]

    def as_dict(self) -> dict:
        """JSON-ready (the pipeline stores it with the analysis)."""
        out = asdict(self)
        out["matrix"] = None if self.matrix is None else np.round(self.matrix, 10).tolist()
        out["reference_shape"], out["moving_shape"] = (
            list(self.reference_shape),
            list(self.moving_shape),
        )
        return out

    @classmethod
    def from_dict(cls, data: dict) -> AlignmentResult:
        matrix = data.get("matrix")
        return cls(
            aligned=bool(data["aligned"]),
            reason=data.get("reason", ""),
            matrix=None if matrix is None else np.asarray(matrix, dtype=float),
            n_matches=int(data.get("n_matches", 0)),
            n_inliers=int(data.get("n_inliers", 0)),
            rms_error_px=data.get("rms_error_px"),
            overlap=data.get("overlap"),
            reference_shape=tuple(data["reference_shape"]),
            moving_shape=tuple(data["moving_shape"]),
        )

    @classmethod
    def identity(cls, shape: tuple[int, int]) -> AlignmentResult:
        """A photo against itself (the baseline)."""
        return cls(True, "", np.eye(3), 0, 0, 0.0, 1.0, tuple(shape), tuple(shape))


def image_features(
    image: np.ndarray,
    *,
    lesion: np.ndarray | None = None,
    config: AlignmentConfig | None = None,
) -> ImageFeatures:
    """Keypoints and descriptors of an 8-bit RGB photo, kept on its skin (and ``lesion``)."""
    check_image(image)
    config = config or AlignmentConfig()
    height, width = image.shape[:2]
    scale = min(1.0, config.working_size / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR))
    grey = small.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    low, high = np.percentile(grey, [1, 99])
    grey = np.clip((grey - low) / max(high - low, 1.0), 0.0, 1.0)

    orb = ORB(n_keypoints=config.n_keypoints, fast_threshold=config.fast_threshold)
    try:
        orb.detect_and_extract(grey)
        keypoints = orb.keypoints[:, ::-1].astype(np.float64)  # (row, col) -> (x, y)
        descriptors = orb.descriptors
    except (RuntimeError, IndexError, ValueError):  # a flat image has no keypoints at all
        keypoints, descriptors = np.zeros((0, 2)), np.zeros((0, 256), dtype=bool)

    region = skin_mask(small)
    if lesion is not None:
        lesion = check_mask(lesion, (height, width))
        lesion_small = Image.fromarray(lesion.astype(np.uint8) * 255).resize(size)
        region |= np.asarray(lesion_small) > 127
    restricted = region.mean() >= config.min_skin_share
    if restricted and len(keypoints):
        iterations = max(1, round(config.skin_dilation * max(size)))
        region = ndimage.binary_dilation(region, iterations=iterations)
        rows = np.clip(keypoints[:, 1].round().astype(int), 0, size[1] - 1)
        cols = np.clip(keypoints[:, 0].round().astype(int), 0, size[0] - 1)
        keep = region[rows, cols]
        keypoints, descriptors = keypoints[keep], descriptors[keep]
    return ImageFeatures(keypoints, descriptors, scale, (height, width), bool(restricted))


def align_images(
    reference: np.ndarray,
    moving: np.ndarray,
    *,
    reference_lesion: np.ndarray | None = None,
    moving_lesion: np.ndarray | None = None,
    config: AlignmentConfig | None = None,
) -> AlignmentResult:
    """Register ``moving`` onto ``reference`` (both 8-bit RGB); see the module's docstring."""
    config = config or AlignmentConfig()
    return align_features(
        image_features(reference, lesion=reference_lesion, config=config),
        image_features(moving, lesion=moving_lesion, config=config),
        config=config,
    )


def align_features(
    reference: ImageFeatures, moving: ImageFeatures, *, config: AlignmentConfig | None = None
) -> AlignmentResult:
    """Register from features already extracted (a site's baseline is extracted once)."""
    config = config or AlignmentConfig()

    def refused(reason: str, n_matches: int = 0, n_inliers: int = 0) -> AlignmentResult:
        return AlignmentResult(
            False, reason, None, n_matches, n_inliers, None, None, reference.shape, moving.shape
        )

    if min(len(reference.keypoints), len(moving.keypoints)) < config.min_inliers:
        return refused("too few features on the skin of one of the photos")
    matches = match_descriptors(
        reference.descriptors, moving.descriptors, cross_check=True, max_ratio=config.max_ratio
    )
    n_matches = len(matches)
    if n_matches < config.min_inliers:
        return refused("too few matching features", n_matches)
    src = reference.keypoints[matches[:, 0]]
    dst = moving.keypoints[matches[:, 1]]

    def plausible(model: SimilarityTransform, *_: np.ndarray) -> bool:
        scale = transform_scale(model.params, reference.frame)
        return config.min_scale <= scale <= config.max_scale

    rng = np.random.default_rng(config.seed)
    seed_model, seed_inliers = ransac(
        (src, dst), SimilarityTransform, min_samples=2,
        residual_threshold=config.ransac_threshold, max_trials=config.max_trials,
        is_model_valid=plausible, stop_probability=0.999, rng=rng,
    )  # fmt: skip
    if seed_model is None or seed_inliers is None or seed_inliers.sum() < config.min_inliers:
        found = 0 if seed_inliers is None else int(seed_inliers.sum())
        return refused("the matching features do not agree on one transform", n_matches, found)

    params, inliers = _refine_projective(src, dst, seed_model.params, seed_inliers, config)
    n_inliers = int(inliers.sum())
    back = apply_matrix(np.linalg.inv(params), dst[inliers])
    rms_working = float(np.sqrt(np.mean(np.sum((back - src[inliers]) ** 2, axis=1))))
    spread = hull_area(src[inliers]) / (reference.frame[0] * reference.frame[1])
    overlap = frame_overlap(params, reference.frame, moving.frame)
    scale = transform_scale(params, reference.frame)

    reasons = []
    if n_inliers < config.min_inliers:
        reasons.append(f"{n_inliers} features agree (at least {config.min_inliers} needed)")
    if n_inliers / n_matches < config.min_inlier_share:
        reasons.append(f"only {n_inliers / n_matches:.0%} of the matches agree")
    if rms_working > config.max_rms_error:
        reasons.append("the features agree too loosely")
    if spread < config.min_spread:
        reasons.append("the agreeing features cover too small a part of the photo")
    if not (maps_convex(params, reference.frame) and config.min_scale <= scale <= config.max_scale):
        reasons.append("the transform is implausible")
    elif overlap < config.min_overlap:
        reasons.append("the photos barely overlap")

    # Working-size pixels -> full resolution on both sides.
    to_working = np.diag([reference.scale, reference.scale, 1.0])
    from_working = np.diag([1 / moving.scale, 1 / moving.scale, 1.0])
    full = from_working @ params @ to_working
    return AlignmentResult(
        aligned=not reasons,
        reason="; ".join(reasons),
        matrix=None if reasons else full / full[2, 2],
        n_matches=n_matches,
        n_inliers=n_inliers,
        rms_error_px=round(rms_working / reference.scale, 3),
        overlap=round(overlap, 4),
        reference_shape=reference.shape,
        moving_shape=moving.shape,
    )


def _refine_projective(
    src: np.ndarray,
    dst: np.ndarray,
    params: np.ndarray,
    inliers: np.ndarray,
    config: AlignmentConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares projective fits, each on the points the previous fit explains."""
    for threshold in (config.ransac_threshold, config.refine_threshold, config.refine_threshold):
        if inliers.sum() < 8:  # a homography needs several more points than its 4 minimum
            break
        candidate = fit_projective(src[inliers], dst[inliers])
        if candidate is None:
            break
        residual = np.linalg.norm(apply_matrix(candidate, src) - dst, axis=1)
        params, inliers = candidate, residual < threshold
    residual = np.linalg.norm(apply_matrix(params, src) - dst, axis=1)
    return params, residual < config.refine_threshold
