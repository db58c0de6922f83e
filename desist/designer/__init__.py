"""desist design: the contract designer in the browser (:mod:`desist.designer.app`), the contract being edited
(:mod:`desist.designer.draft`) and the answers as HTML (:mod:`desist.designer.views`)."""
