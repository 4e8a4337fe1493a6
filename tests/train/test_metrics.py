import torch

from rudratune.train.metrics import dice_iou


def test_dice_and_iou_per_image_with_empty_mask_convention() -> None:
    target = torch.zeros(3, 1, 4, 4)
    target[0, 0, :2] = 1  # 8 pixels
    logits = torch.full((3, 1, 4, 4), -10.0)
    logits[0, 0, :1] = 10  # predicts 4 of the 8
    logits[2, 0, 0, 0] = 10  # image 2: empty truth, one false pixel
    dice, iou = dice_iou(logits, target)
    assert torch.allclose(dice, torch.tensor([2 * 4 / 12, 1.0, 0.0]))
    assert torch.allclose(iou, torch.tensor([4 / 8, 1.0, 0.0]))
