"""Hand repair in the MGHanD direction: detection, cumulative hand masks, plain and guided inpainting."""
