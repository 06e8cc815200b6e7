"""The README's DB example: ocrperf's targets inside a torch DataLoader with 2 workers.

python ocrperf-py/examples/db_dataloader.py
"""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ocrperf.dbnet import DBTargets


class TextImages(Dataset):
    """Your dataset: an image, its polygons and ignore tags per sample (after augmentation)."""

    def __init__(self, samples):
        self.samples = samples
        self.targets = DBTargets(compact=True)  # one cache per worker process

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        image, polygons, tags = self.samples[index]
        data = self.targets(
            {
                "image": image,
                "polygons": [p.copy() for p in polygons],
                "ignore_tags": np.array(tags, dtype=np.uint8),
                "is_training": True,
            }
        )
        return {key: data[key] for key in ("image", "gt", "mask", "thresh_map", "thresh_mask")}


def main():
    image = np.zeros((640, 640, 3), np.float32)
    polygons = [
        np.array([[50.0, 60.0], [300.0, 60.0], [300.0, 110.0], [50.0, 110.0]]),
        np.array([[320.0, 400.0], [600.0, 380.0], [605.0, 440.0], [325.0, 460.0]]),
    ]
    loader = DataLoader(
        TextImages([(image, polygons, [False, False])] * 64), batch_size=16, num_workers=2, persistent_workers=True
    )
    for batch in loader:
        gt = batch["gt"].float()  # uint8 through the queues; to float on the device (.cuda().float())
        assert gt.shape == (16, 1, 640, 640) and batch["thresh_map"].dtype == torch.float32
    print(f"ok: {len(loader)} batches of {tuple(gt.shape)}, text pixels per image {int(gt[0].sum())}")


if __name__ == "__main__":
    main()
