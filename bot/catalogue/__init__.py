from bot.catalogue.loader import Catalogue, CatalogueError, load_catalogue

__all__ = ["Catalogue", "CatalogueError", "load_catalogue"]
