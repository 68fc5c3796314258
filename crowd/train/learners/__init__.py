"""One module per learner implementation (its trainer class and what only it uses); imports nothing here.

* :mod:`~crowd.train.learners.head`: :class:`HeadOnlyTrainer` (``head``), frozen encoder, batched linear heads;
* :mod:`~crowd.train.learners.full`: :class:`FullFineTuneTrainer` (``full``), every parameter per copy;
* :mod:`~crowd.train.learners.partial`: :class:`PartialFineTuneTrainer` (``partial``), the top layers per copy;
* :mod:`~crowd.train.learners.static`: :class:`StaticBagTrainer` (``static``), bags of static word vectors;
* :mod:`~crowd.train.learners.bow`: :class:`BagOfWordsTrainer` (``bow``), TF-IDF and logistic regression;
* :mod:`~crowd.train.learners.ensemble`: :class:`EnsembleTrainer` (``bow+head``), their mean probabilities.

Their settings (torch-free, the config tables) are in :mod:`crowd.train.settings`, which names each trainer
(``IMPLEMENTATION``) and the modules that compute it (``MODULES``); the rest of :mod:`crowd.train` is the
infrastructure they share (runner, votes, encoders, feature cache, data).
"""
